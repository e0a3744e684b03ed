from academy.plugins.registry import PluginConfig


class FaultyConfig(PluginConfig):
    name = "academy_faulty"
    label = "faulty"
    plugin_name = "Faulty"
    version = "1.0.0"
    author = "Academy tests"
    description = "Fails everywhere it can."
    min_core_version = "0.2"
