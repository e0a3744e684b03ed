"""A test plugin that records what reaches it."""

#: (event name, payload) of every event its receiver got, in order.
RECEIVED: list[tuple[str, dict]] = []

#: (event name, event_id, course_id) of every event its durable receiver got, in order.
DURABLE: list[tuple[str, str, int]] = []

#: Users whose echo lessons may be completed (the lesson kind's gate reads it).
UNLOCKED: set[int] = set()
