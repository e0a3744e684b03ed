from academy.plugins.registry import PluginConfig


class BadgeConfig(PluginConfig):
    name = "academy_badge"
    label = "badge"
    plugin_name = "Badge"
    version = "1.0.0"
    author = "Academy tests"
    description = "Shows how many learners a course has (opt-in per course)."
    min_core_version = "0.2"
    default_active = False
