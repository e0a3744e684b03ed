"""AppConfig for the learning core; connects the domain-event receivers."""

from django.apps import AppConfig


class LearningConfig(AppConfig):
    """Enrollments, progress and notifications."""

    name = "learning"
    verbose_name = "Learning"

    def ready(self) -> None:
        """Connect receivers once the app registry is ready."""
        from django.urls import register_converter

        from learning import receivers  # noqa: F401
        from learning.api.converters import IdConverter

        register_converter(IdConverter, "id")  # "<id:...>" in API paths: past bigint is a 404, not a 500
