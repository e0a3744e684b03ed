"""AppConfig of the ground floor."""

from django.apps import AppConfig


class AcademyConfig(AppConfig):
    """Shared plumbing: once-only records, plugin activation, the plugin machinery's checks and
    admin screens, and the ``startplugin`` command."""

    name = "academy"
    verbose_name = "Academy core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the plugin system checks."""
        from academy.plugins import checks  # noqa: F401
