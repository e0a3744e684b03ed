"""Wagtail admin screens of the plugins: the site-wide list (Settings > Plugins) and a course's
plugins (a header button on course pages). Changes take effect at once, without a deploy or a
publish, and are written to Wagtail's audit log (Reports > Site history, the page's history).

- Site-wide: superusers, or users with ``academy.change_pluginactivation``.
- A course: whoever may edit that course page (Wagtail's page permissions).

Switching a plugin off where it works asks to confirm first; where it changes completion (its
lesson kind gates completion and has live lessons there) the confirmation shows what it changes
(how many learners' progress, how many certificates: ``activation.impact_of_switch``).

The site-wide list also shows the plugins that do not run here, with the reason: excluded by
``ACADEMY_PLUGINS_EXCLUDE``, or refused (with the file and line of the failure).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from wagtail.log_actions import log
from wagtail.models import Page

from academy.plugins import activation
from academy.plugins.registry import PluginConfig, exclusions, plugins, refusals

CONFIRM_FIELD = "confirm"

SITE_PERMISSION = "academy.change_pluginactivation"
#: Audit-log actions: (label, message).
LOG_ACTIONS = {
    "academy.plugin_site_state": ("Plugin switched (site-wide)", "Plugin switched site-wide"),
    "academy.plugin_course_state": ("Plugin switched for a course", "Plugin switched for this course"),
}


def can_manage_site_plugins(user: Any) -> bool:
    """Whether ``user`` may switch plugins site-wide."""
    return bool(user.is_superuser or user.has_perm(SITE_PERMISSION))


def is_plugin_scope(page: Page) -> bool:
    """Whether plugins are switched per page for ``page`` (course pages say so)."""
    return bool(getattr(page.specific_class, "plugin_scope", False))


def site_plugins(request: HttpRequest) -> HttpResponse:
    """List installed (and refused) plugins; switch each on, opt-in or off site-wide."""
    if not can_manage_site_plugins(request.user):
        raise PermissionDenied
    current = activation.table()
    installed = plugins()
    if request.method == "POST":
        wanted_states: list[tuple[PluginConfig, str]] = []
        for plugin in installed:
            wanted = request.POST.get(f"state-{plugin.label}")
            if wanted is None or wanted == current.site_state(plugin):
                continue
            if wanted not in {"on", "optin", "off"}:
                messages.error(request, f"{plugin.display_name}: choose On, Opt-in or Off.")
                return redirect("academy_plugins")
            wanted_states.append((plugin, wanted))
        asked = _confirmation(request, [(p, activation.table_after(p.label, w, current=current)) for p, w in wanted_states])
        if asked is not None:
            return asked
        changed = []
        for plugin, wanted in wanted_states:
            row = activation.set_state(plugin.label, wanted, user=request.user)
            log(instance=row, action="academy.plugin_site_state", user=request.user,
                data={"plugin": plugin.label, "state": wanted}, content_changed=False)
            changed.append(plugin.display_name)
        if changed:
            messages.success(request, f"Saved: {', '.join(changed)}.")
        return redirect("academy_plugins")
    rows = [{"plugin": p, "state": current.site_state(p)} for p in installed]
    return TemplateResponse(
        request,
        "academy/admin/site_plugins.html",
        {"rows": rows, "refused": refusals(), "excluded": exclusions(), "states": _site_choices()},
    )


def _confirmation(
    request: HttpRequest, switches: list[tuple[PluginConfig, activation.ActivationTable]], *, course_id: int | None = None
) -> HttpResponse | None:
    """The confirmation page when one of ``switches`` (plugin, table after the switch) switches a
    plugin off where it works (``course_id``, or the site) and the form was not confirmed yet;
    None otherwise. Where it changes completion, the page says in how many courses and what that
    changes for people (``activation.impact_of_switch``: learners, certificates...)."""
    if request.POST.get(CONFIRM_FIELD) == "1":
        return None
    found = []
    before = activation.table()
    for plugin, after in switches:
        course_ids, impacts = activation.impact_of_switch(plugin.label, after)
        if course_ids:
            found.append({"plugin": plugin, "courses": len(course_ids), "impacts": impacts})
        elif before.is_active(plugin, course_id) and not after.is_active(plugin, course_id):
            found.append({"plugin": plugin, "courses": 0, "impacts": [], "where": "this course" if course_id else "the site"})
    if not found:
        return None
    fields = [(name, value) for name, value in request.POST.items() if name not in {"csrfmiddlewaretoken", CONFIRM_FIELD}]
    return TemplateResponse(
        request, "academy/admin/confirm_switch_off.html",
        {"found": found, "fields": fields, "action": request.path, "confirm_field": CONFIRM_FIELD},
    )


def course_plugins(request: HttpRequest, page_id: int) -> HttpResponse:
    """Switch each per-course plugin on, off, or "as the site says" for one course."""
    page = get_object_or_404(Page, pk=page_id)
    if not is_plugin_scope(page) or not page.permissions_for_user(request.user).can_edit():
        raise PermissionDenied
    current = activation.table()
    per_course = [p for p in plugins() if p.per_course]
    if request.method == "POST":
        overrides = current.courses.get(page.pk, {})
        wanted_states: list[tuple[PluginConfig, str]] = []
        for plugin in per_course:
            wanted = request.POST.get(f"state-{plugin.label}")
            if wanted is None:
                continue
            if wanted not in {"default", "on", "off"}:
                messages.error(request, f"{plugin.display_name}: choose Site default, On or Off.")
                return redirect("academy_course_plugins", page_id=page.pk)
            before = {True: "on", False: "off"}.get(overrides.get(plugin.label), "default")  # type: ignore[call-overload]
            if wanted != before:
                wanted_states.append((plugin, wanted))
        asked = _confirmation(request, [
            (p, activation.table_after(p.label, None if w == "default" else w, course_id=page.pk, current=current))
            for p, w in wanted_states
        ], course_id=page.pk)
        if asked is not None:
            return asked
        changed = []
        for plugin, wanted in wanted_states:
            activation.set_state(plugin.label, None if wanted == "default" else wanted, course_id=page.pk, user=request.user)
            log(instance=page.specific, action="academy.plugin_course_state", user=request.user,
                data={"plugin": plugin.label, "state": wanted}, content_changed=False)
            changed.append(plugin.display_name)
        if changed:
            messages.success(request, f"Saved for {page.title}: {', '.join(changed)}.")
        return redirect("academy_course_plugins", page_id=page.pk)
    rows = []
    for plugin in per_course:
        override = current.courses.get(page.pk, {}).get(plugin.label)
        rows.append({
            "plugin": plugin,
            "choice": {True: "on", False: "off"}.get(override, "default"),  # type: ignore[call-overload]
            "site_state": current.site_state(plugin),
            "active": current.is_active(plugin, page.pk),
        })
    return TemplateResponse(
        request,
        "academy/admin/course_plugins.html",
        {"page": page, "rows": rows, "edit_url": reverse("wagtailadmin_pages:edit", args=[page.pk])},
    )


def _site_choices() -> list[tuple[str, str]]:
    from academy.models import PluginActivation

    return list(PluginActivation.State.choices)
