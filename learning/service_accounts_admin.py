"""Service accounts in the Wagtail admin (Settings > Service accounts), for site administrators
only: make an account for a machine (an HR or SIS sync), give it tokens with scopes (shown
once), revoke them. Writes go through ``learning.tokens``; what the account may do as staff is
its groups' business, as for a person (Settings > Groups)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods
from wagtail.admin.menu import MenuItem

from learning import tokens
from learning.models import PersonalAccessToken, ServiceAccount

EXPIRY_CHOICES = [("", "Never"), ("30", "30 days"), ("90", "90 days"), ("365", "365 days")]


class AccountForm(forms.Form):
    name = forms.CharField(max_length=tokens.SERVICE_NAME_MAX, help_text="What it is, e.g. 'HR sync'.")
    username = forms.CharField(max_length=150, help_text="Its user's name in the audit log, e.g. 'hr-sync'.")
    groups = forms.ModelMultipleChoiceField(
        queryset=Group.objects.order_by("name"), required=False, widget=forms.CheckboxSelectMultiple,
        help_text="They give it its staff permissions (page permissions on the courses, enrollments, users).",
    )


class TokenForm(forms.Form):
    name = forms.CharField(max_length=tokens.NAME_MAX, help_text="What the token is for.")
    scopes = forms.MultipleChoiceField(choices=list(tokens.SCOPES.items()), widget=forms.CheckboxSelectMultiple)
    expires_in_days = forms.TypedChoiceField(choices=EXPIRY_CHOICES, required=False, coerce=int, empty_value=None)


def _superuser(request: HttpRequest) -> None:
    if not request.user.is_superuser:
        raise PermissionDenied


def _page(request: HttpRequest, *, account_form: AccountForm | None = None, token_forms: dict[int, TokenForm] | None = None,
          new_secret: tokens.NewToken | None = None, status: int = 200) -> HttpResponse:
    accounts = list(ServiceAccount.objects.select_related("user").prefetch_related("user__groups"))
    token_rows: dict[int, list[PersonalAccessToken]] = {}
    for token in PersonalAccessToken.objects.filter(user__service_account__isnull=False).order_by("-created_at"):
        token_rows.setdefault(token.user_id, []).append(token)
    forms_ = token_forms or {}
    rows = [{"account": account, "tokens": token_rows.get(account.user_id, []),
             "form": forms_.get(account.pk) or TokenForm(prefix=f"t{account.pk}")} for account in accounts]
    return render(request, "learning/admin/service_accounts.html", {
        "rows": rows, "account_form": account_form or AccountForm(), "new_secret": new_secret, "scopes": tokens.SCOPES,
    }, status=status)


@require_http_methods(["GET", "POST"])
def index(request: HttpRequest) -> HttpResponse:
    """The accounts and their tokens; POST makes an account."""
    _superuser(request)
    if request.method == "GET":
        return _page(request)
    form = AccountForm(request.POST)
    if form.is_valid():
        try:
            account = tokens.service_account_create(
                name=form.cleaned_data["name"], username=form.cleaned_data["username"], by=request.user,
                group_ids=[group.pk for group in form.cleaned_data["groups"]],
            )
        except tokens.TokenError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Service account '{account.name}' made. Give it a token below.")
            return redirect("service_accounts:index")
    return _page(request, account_form=form, status=400)


@require_http_methods(["POST"])
def token_create(request: HttpRequest, account_id: int) -> HttpResponse:
    """Make a token of the account; the page shows it once (never stored, never redirected)."""
    _superuser(request)
    account = get_object_or_404(ServiceAccount.objects.select_related("user"), pk=account_id)
    form = TokenForm(request.POST, prefix=f"t{account.pk}")
    if form.is_valid():
        try:
            new = tokens.service_token_create(
                account=account, name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"], by=request.user,
                expires_in_days=form.cleaned_data["expires_in_days"],
            )
        except tokens.TokenError as exc:
            form.add_error(None, exc.message)
        else:
            response = _page(request, new_secret=new)
            response["Cache-Control"] = "no-store"
            return response
    return _page(request, token_forms={account.pk: form}, status=400)


@require_http_methods(["POST"])
def token_revoke(request: HttpRequest, account_id: int, token_id: int) -> HttpResponse:
    """Revoke a token of the account (at once)."""
    _superuser(request)
    account = get_object_or_404(ServiceAccount.objects.select_related("user"), pk=account_id)
    if tokens.token_revoke(user=account.user, token_id=token_id):
        messages.success(request, "Token revoked.")
    return redirect("service_accounts:index")


urlpatterns = [
    path("", index, name="index"),
    path("<int:account_id>/tokens/", token_create, name="token_create"),
    path("<int:account_id>/tokens/<int:token_id>/revoke/", token_revoke, name="token_revoke"),
]


class SuperuserMenuItem(MenuItem):
    """A settings menu item only site administrators see."""

    def is_shown(self, request: HttpRequest) -> bool:
        """For superusers."""
        return bool(request.user.is_superuser)


def menu_item() -> MenuItem:
    """Settings > Service accounts."""
    return SuperuserMenuItem("Service accounts", reverse("service_accounts:index"), icon_name="cogs", order=900)


def admin_urls() -> list[Any]:
    """Mounted at /admin/service-accounts/."""
    from django.urls import include

    return [path("service-accounts/", include((urlpatterns, "service_accounts"), namespace="service_accounts"))]
