"""A test plugin that records what reaches it."""

#: (event name, payload) of every event its receiver got, in order.
RECEIVED: list[tuple[str, dict]] = []

#: Users whose echo lessons may be completed (the lesson kind's gate reads it).
UNLOCKED: set[int] = set()
