"""Wagtail admin: Settings > Webhooks (subscriptions, delivery log), and a panel on the admin's
home naming the webhooks that were switched off because their receiver kept failing."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import include, path, reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.components import Component

from plugins.webhooks import admin_views, services


@hooks.register("register_admin_urls")
def register_webhook_urls() -> list[Any]:
    """/admin/webhooks/: subscriptions, their actions, the delivery log."""
    patterns = [
        path("", admin_views.index, name="index"),
        path("add/", admin_views.add, name="add"),
        path("deliveries/", admin_views.deliveries, name="deliveries"),
        path("deliveries/<id:pk>/", admin_views.delivery, name="delivery"),
        path("deliveries/<id:pk>/replay/", admin_views.replay, name="replay"),
        path("<id:pk>/", admin_views.subscription, name="subscription"),
        path("<id:pk>/edit/", admin_views.edit, name="edit"),
        path("<id:pk>/delete/", admin_views.delete, name="delete"),
        path("<id:pk>/ping/", admin_views.ping, name="ping"),
        path("<id:pk>/enable/", admin_views.enable, name="enable"),
        path("<id:pk>/rotate/", admin_views.rotate, name="rotate"),
    ]
    return [path("webhooks/", include((patterns, "webhooks_admin")))]


class _WebhooksItem(MenuItem):
    def is_shown(self, request: HttpRequest) -> bool:
        return services.may_view(request.user)


@hooks.register("register_settings_menu_item")
def register_webhooks_menu() -> MenuItem:
    """Settings > Webhooks, for users who may see them."""
    return _WebhooksItem("Webhooks", reverse("webhooks_admin:index"), icon_name="link-external", order=900)


class DisabledWebhooksPanel(Component):
    """Admin home: webhooks switched off after repeated failures, with a link to each."""

    name = "webhooks_disabled"
    template_name = "webhooks/admin/home_panel.html"
    order = 60

    def __init__(self, subscriptions: list[Any]) -> None:
        self.subscriptions = subscriptions

    def get_context_data(self, parent_context: Any) -> dict[str, Any]:
        """The switched-off subscriptions."""
        context = super().get_context_data(parent_context)
        context["subscriptions"] = self.subscriptions
        return context


@hooks.register("construct_homepage_panels")
def add_disabled_webhooks_panel(request: HttpRequest, panels: list[Any]) -> None:
    """Tell whoever may manage webhooks which ones were switched off (one query)."""
    if services.may_manage(request.user):
        disabled = list(services.disabled_subscriptions()[:20])
        if disabled:
            panels.append(DisabledWebhooksPanel(disabled))
