"""The discussions plugin through Academy's contract test kit."""

from __future__ import annotations

from academy.sdk import PluginContract


class TestDiscussionsContract(PluginContract):
    """Metadata, compatibility, URLs, migrations, fragments' query budgets, per-course doors."""

    plugin_label = "discussions"
