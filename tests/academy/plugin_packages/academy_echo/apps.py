from academy.plugins.registry import PluginConfig


class EchoConfig(PluginConfig):
    name = "academy_echo"
    label = "echo"
    plugin_name = "Echo"
    version = "1.0.0"
    author = "Academy tests"
    description = "Records events and renders fragments."
    min_core_version = "0.2"
