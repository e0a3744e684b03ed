"""Wagtail admin: Settings > Webhooks. Subscriptions (add, edit, delete, ping, rotate the
secret, switch on again), the delivery log with filters, and replay.

Who: webhooks are site-wide (a subscription without a course hears every course), so the
screens need a site-level model permission, not a course's staff rule: reading needs
``webhooks.view_subscription`` or ``webhooks.change_subscription``; acting needs
``webhooks.change_subscription`` (the services check it again). Superusers have both. Actions
are POST only; a refused or invalid one shows its message and changes nothing. A secret is
shown once: on the page answering its creation or rotation, never again.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from academy.sdk import CoursePage, ServiceError
from plugins.webhooks import catalog, services
from plugins.webhooks.models import URL_MAX_LENGTH, Delivery, Subscription

PAGE_SIZE = 50


class SubscriptionForm(forms.Form):
    """What an admin sets on a subscription (the secret is drawn, never typed)."""

    name = forms.CharField(max_length=services.NAME_MAX_LENGTH)
    target_url = forms.CharField(
        label="Target URL", max_length=URL_MAX_LENGTH,
        help_text="https:// on a public address. Academy POSTs signed JSON here.",
    )
    event_types = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, label="Events")
    course = forms.ModelChoiceField(
        queryset=CoursePage.objects.none(), required=False, empty_label="Every course",
        help_text="Only this course's events.",
    )
    active = forms.BooleanField(required=False, initial=True, help_text="Send events to this URL.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["event_types"].choices = catalog.choices()
        self.fields["course"].queryset = CoursePage.objects.order_by("title", "pk")

    def clean_target_url(self) -> str:
        """The service's rule (https, public address), as a field error."""
        try:
            return services.clean_target_url(self.cleaned_data["target_url"])
        except ServiceError as exc:
            raise forms.ValidationError(exc.message) from exc

    def changes(self) -> dict[str, Any]:
        """The cleaned data as the services take it."""
        data = self.cleaned_data
        course = data.get("course")
        return {
            "name": data["name"], "target_url": data["target_url"], "event_types": list(data["event_types"]),
            "course_id": course.pk if course else None, "active": bool(data.get("active")),
        }


def _require_view(request: HttpRequest) -> None:
    if not services.may_view(request.user):
        raise PermissionDenied


def _require_manage(request: HttpRequest) -> None:
    if not services.may_manage(request.user):
        raise PermissionDenied("You may not manage webhooks.")


def _subscription(pk: int) -> Subscription:
    found = Subscription.objects.select_related("course", "created_by").filter(pk=pk).first()
    if found is None:
        raise Http404("No such webhook.")
    return found


def index(request: HttpRequest) -> HttpResponse:
    """Every subscription, by name, with its state."""
    _require_view(request)
    rows = Subscription.objects.select_related("course").order_by("name", "pk")
    return render(request, "webhooks/admin/index.html", {
        "subscriptions": rows, "can_manage": services.may_manage(request.user),
    })


def _form_page(request: HttpRequest, form: SubscriptionForm, subscription: Subscription | None) -> HttpResponse:
    return render(request, "webhooks/admin/form.html", {"form": form, "subscription": subscription})


def _secret_page(request: HttpRequest, subscription: Subscription, secret: str, *, rotated: bool) -> HttpResponse:
    response = render(request, "webhooks/admin/secret.html", {
        "subscription": subscription, "secret": secret, "rotated": rotated,
    })
    response["Cache-Control"] = "no-store"
    return response


def add(request: HttpRequest) -> HttpResponse:
    """GET the form; POST creates the subscription and shows its secret once."""
    _require_manage(request)
    form = SubscriptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        changes = form.changes()
        try:
            subscription, secret = services.subscription_create(by=request.user, **changes)
        except ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            return _secret_page(request, subscription, secret, rotated=False)
    return _form_page(request, form, None)


def edit(request: HttpRequest, pk: int) -> HttpResponse:
    """GET the form; POST saves it (switching it on resumes what waits)."""
    _require_manage(request)
    subscription = _subscription(pk)
    initial = {
        "name": subscription.name, "target_url": subscription.target_url, "event_types": subscription.event_types,
        "course": subscription.course, "active": subscription.active,
    }
    form = SubscriptionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.subscription_update(subscription=subscription, by=request.user, **form.changes())
        except ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Webhook “{subscription.name}” saved.")
            return redirect(reverse("webhooks_admin:subscription", args=[subscription.pk]))
    return _form_page(request, form, subscription)


def _filtered_deliveries(request: HttpRequest, rows: Any) -> tuple[Any, dict[str, str]]:
    status = request.GET.get("status", "")
    event_type = request.GET.get("event_type", "")
    if status in Delivery.Status.values:
        rows = rows.filter(status=status)
    else:
        status = ""
    if event_type in [*catalog.event_types(), catalog.PING]:
        rows = rows.filter(event_type=event_type)
    else:
        event_type = ""
    return rows, {"status": status, "event_type": event_type}


def _log_context(request: HttpRequest, rows: Any) -> dict[str, Any]:
    rows, filters = _filtered_deliveries(request, rows.order_by("-created_at", "-pk"))
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("p"))
    return {
        "page": page, "filters": filters, "statuses": Delivery.Status.choices,
        "event_types": [*catalog.event_types(), catalog.PING], "can_manage": services.may_manage(request.user),
    }


def subscription(request: HttpRequest, pk: int) -> HttpResponse:
    """One subscription, its actions and its delivery log (filters: status, event type)."""
    _require_view(request)
    found = _subscription(pk)
    context = _log_context(request, found.deliveries.select_related("subscription"))
    context["subscription"] = found
    return render(request, "webhooks/admin/subscription.html", context)


def deliveries(request: HttpRequest) -> HttpResponse:
    """The delivery log of every subscription (filters: status, event type)."""
    _require_view(request)
    context = _log_context(request, Delivery.objects.select_related("subscription"))
    return render(request, "webhooks/admin/deliveries.html", context)


def delivery(request: HttpRequest, pk: int) -> HttpResponse:
    """One delivery: the body sent, its attempts and the last answer."""
    _require_view(request)
    found = Delivery.objects.select_related("subscription").filter(pk=pk).first()
    if found is None:
        raise Http404("No such delivery.")
    return render(request, "webhooks/admin/delivery.html", {
        "delivery": found, "body": services.body_bytes(found).decode("utf-8"),
        "can_manage": services.may_manage(request.user),
    })


def _act(request: HttpRequest, action: Any, success: str, back: str) -> HttpResponse:
    try:
        action()
    except ServiceError as exc:
        if exc.status_code == 403:
            raise PermissionDenied(exc.message) from exc
        messages.error(request, exc.message)
    else:
        messages.success(request, success)
    return redirect(back)


@require_POST
def ping(request: HttpRequest, pk: int) -> HttpResponse:
    """POST: queue a ``ping`` event to the subscription."""
    _require_manage(request)
    found = _subscription(pk)
    back = reverse("webhooks_admin:subscription", args=[found.pk])
    return _act(request, lambda: services.ping_send(subscription=found, by=request.user),
                "A ping is on its way; it appears in the log below.", back)


@require_POST
def enable(request: HttpRequest, pk: int) -> HttpResponse:
    """POST: switch the subscription on again; what waits for it is sent."""
    _require_manage(request)
    found = _subscription(pk)
    back = reverse("webhooks_admin:subscription", args=[found.pk])
    return _act(request, lambda: services.subscription_enable(subscription=found, by=request.user),
                f"Webhook “{found.name}” is on again; waiting deliveries are being sent.", back)


@require_POST
def rotate(request: HttpRequest, pk: int) -> HttpResponse:
    """POST: draw a new secret and show it once (the old one signs too for a day)."""
    _require_manage(request)
    found = _subscription(pk)
    secret = services.subscription_rotate_secret(subscription=found, by=request.user)
    return _secret_page(request, found, secret, rotated=True)


def delete(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks to confirm; POST deletes the subscription and its delivery log."""
    _require_manage(request)
    found = _subscription(pk)
    if request.method == "POST":
        with transaction.atomic():
            found.delete()
        messages.success(request, f"Webhook “{found.name}” deleted.")
        return redirect(reverse("webhooks_admin:index"))
    return render(request, "webhooks/admin/delete.html", {"subscription": found})


@require_POST
def replay(request: HttpRequest, pk: int) -> HttpResponse:
    """POST: send a delivery again (same body, same ``Webhook-Id``)."""
    _require_manage(request)
    found = Delivery.objects.filter(pk=pk).first()
    if found is None:
        raise Http404("No such delivery.")
    back = reverse("webhooks_admin:delivery", args=[found.pk])
    return _act(request, lambda: services.delivery_replay(delivery=found, by=request.user),
                "The delivery is being sent again.", back)
