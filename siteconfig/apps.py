"""AppConfig for the project-level app (operational commands, health endpoints)."""

from django.apps import AppConfig


class SiteConfigConfig(AppConfig):
    """Project-level app: management commands and health checks."""

    name = "siteconfig"
    verbose_name = "Academy site"

    def ready(self) -> None:
        """Register the deployment checks (production refuses the demo logins)."""
        from siteconfig import checks  # noqa: F401
