from courses.models import LessonPage


class EchoLessonPage(LessonPage):
    """A lesson kind: complete only after the learner said the password (its completion gate)."""

    offers_mark_complete = False

    class Meta:
        verbose_name = "echo lesson"

    def completion_gate(self, user):
        from academy_echo import UNLOCKED

        return None if user.pk in UNLOCKED else "Say the password first."
