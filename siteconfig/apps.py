"""AppConfig for the project-level app (operational commands, health endpoints)."""

from django.apps import AppConfig


class SiteConfigConfig(AppConfig):
    """Project-level app: management commands and health checks."""

    name = "siteconfig"
    verbose_name = "Academy site"
