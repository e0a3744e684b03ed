"""The webhooks plugin through Academy's contract test kit."""

from __future__ import annotations

from academy.sdk import PluginContract


class TestWebhooksContract(PluginContract):
    """Metadata, compatibility, URLs, migrations, idempotent receivers."""

    plugin_label = "webhooks"
