"""AppConfig for the learning core; connects the domain-event receivers."""

from django.apps import AppConfig


class LearningConfig(AppConfig):
    """Enrollments, progress and notifications."""

    name = "learning"
    verbose_name = "Learning"

    def ready(self) -> None:
        """Connect receivers once the app registry is ready."""
        from learning import receivers  # noqa: F401
