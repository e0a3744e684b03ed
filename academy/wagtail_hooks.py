"""Wagtail hooks of the ground floor: the plugin screens (Settings > Plugins, a course's plugins:
its "Plugins" staff link comes from ``learning.wagtail_hooks``, the ground floor importing no
app) and their audit-log actions."""

from __future__ import annotations

from typing import Any

from django.urls import path, reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from academy.plugins import admin_views


@hooks.register("register_admin_urls")
def plugin_admin_urls() -> list[Any]:
    """/admin/plugins/ and /admin/plugins/course/<page id>/."""
    return [
        path("plugins/", admin_views.site_plugins, name="academy_plugins"),
        path("plugins/course/<int:page_id>/", admin_views.course_plugins, name="academy_course_plugins"),
    ]


class PluginsMenuItem(MenuItem):
    """Settings > Plugins, for those who may switch plugins site-wide."""

    def is_shown(self, request: Any) -> bool:
        """Hidden from editors without the permission."""
        return admin_views.can_manage_site_plugins(request.user)


@hooks.register("register_settings_menu_item")
def plugins_menu_item() -> MenuItem:
    """The site-wide plugin list in the Settings menu."""
    return PluginsMenuItem("Plugins", reverse("academy_plugins"), icon_name="cogs", order=900)


@hooks.register("register_log_actions")
def register_plugin_log_actions(actions: Any) -> None:
    """Plugin switches, in Reports > Site history."""
    for action, (label, message) in admin_views.LOG_ACTIONS.items():
        actions.register_action(action, label, message)
