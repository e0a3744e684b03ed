"""AppConfig for the project-level app (operational commands, health endpoints)."""

from django.apps import AppConfig


class SiteConfigConfig(AppConfig):
    """Project-level app: management commands and health checks."""

    name = "siteconfig"
    verbose_name = "Academy site"

    def ready(self) -> None:
        """Connect the login limits' signal receiver (a successful login is forgiven)."""
        from siteconfig import login_limits  # noqa: F401
