from academy.plugins.registry import PluginConfig


class BrokenConfig(PluginConfig):
    name = "academy_broken"
    label = "broken"
    plugin_name = "Broken"
    version = "1.0.0"
    author = "Academy tests"
    description = "Has a syntax error in its models."
    min_core_version = "0.2"
