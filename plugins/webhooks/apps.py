"""Plugin metadata of the webhooks plugin."""

from __future__ import annotations

from academy.sdk import PluginConfig


class WebhooksConfig(PluginConfig):
    """Signed webhooks for enrollments, completions and certificates, with retries and a log."""

    name = "plugins.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"
    plugin_name = "Webhooks"
    version = "1.0.0"
    author = "Academy maintainers"
    description = (
        "Sends signed HTTP callbacks (HMAC-SHA256, Standard Webhooks headers) for enrollments, "
        "lesson and course completions and certificates, with retries, a delivery log and replay."
    )
    min_core_version = "0.2"
    default_active = True
    per_course = False
