"""The quizzes plugin through Academy's contract test kit."""

from __future__ import annotations

from typing import Any

from academy.events import Event
from academy.sdk import PluginContract, World
from plugins.quizzes.events import AttemptGradedPayload, attempt_graded


class TestQuizzesContract(PluginContract):
    """Metadata, compatibility, URLs, migrations, idempotent receivers, the lesson kind's creation."""

    plugin_label = "quizzes"

    def sample_events(self, world: World) -> list[tuple[Event[Any], dict[str, Any]]]:
        """The plugin's own event, as a graded attempt sends it."""
        payload = AttemptGradedPayload(
            attempt_id=1, quiz_id=world.lessons[0].pk, course_id=world.course.pk, user_id=world.learners[0].pk,
            number=1, score=1, max_score=1, passed=True,
        )
        return [(attempt_graded, dict(payload))]
