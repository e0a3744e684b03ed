"""Plugin metadata of the discussions plugin."""

from __future__ import annotations

from academy.sdk import PluginConfig


class DiscussionsConfig(PluginConfig):
    """Questions and discussions on lessons and courses, live, with moderation and a staff queue."""

    name = "plugins.discussions"
    label = "discussions"
    verbose_name = "Discussions"
    plugin_name = "Discussions"
    version = "1.0.0"
    author = "Academy maintainers"
    description = (
        "Questions and discussions under each lesson and per course: replies, votes, 'answered', "
        "follow, live updates, moderation, an email digest and the staff's unanswered queue."
    )
    min_core_version = "0.2"
    default_active = True
    per_course = True
