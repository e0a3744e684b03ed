"""AppConfig of the ground floor (its models: once-only side-effect records)."""

from django.apps import AppConfig


class AcademyConfig(AppConfig):
    """Shared plumbing: task records, the plugin machinery and its management commands."""

    name = "academy"
    verbose_name = "Academy core"
    default_auto_field = "django.db.models.BigAutoField"
