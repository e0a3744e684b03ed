"""AppConfig for course content."""

from django.apps import AppConfig


class CoursesConfig(AppConfig):
    """Wagtail page types for the catalog, courses and lessons."""

    name = "courses"
    verbose_name = "Courses"

    def ready(self) -> None:
        """Connect the page-cache purges to Wagtail's page signals and the listed models."""
        from courses import receivers  # noqa: F401
