"""AppConfig for course content."""

from django.apps import AppConfig


class CoursesConfig(AppConfig):
    """Wagtail page types for the catalog, courses and lessons."""

    name = "courses"
    verbose_name = "Courses"
