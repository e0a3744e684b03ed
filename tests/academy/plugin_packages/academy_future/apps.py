from academy.plugins.registry import PluginConfig


class FutureConfig(PluginConfig):
    name = "academy_future"
    label = "future"
    plugin_name = "Future"
    version = "1.0.0"
    author = "Academy tests"
    description = "Needs a core that does not exist yet."
    min_core_version = "99.0"
