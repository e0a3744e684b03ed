"""AppConfig for the project-level app (operational commands, health endpoints)."""

from django.apps import AppConfig


class SiteConfigConfig(AppConfig):
    """Project-level app: management commands, health checks and the overload answer."""

    name = "siteconfig"
    verbose_name = "Academy site"

    def ready(self) -> None:
        """Connect the receiver that turns "no database connection in time" into a 503 and the
        login limits' receiver (a successful login is forgiven), and register the deployment
        checks (production refuses the demo logins)."""
        from django.core.signals import got_request_exception

        from siteconfig import checks, login_limits  # noqa: F401
        from siteconfig.capacity import mark_overloaded_request

        got_request_exception.connect(mark_overloaded_request, dispatch_uid="academy-overload")
