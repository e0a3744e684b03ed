"""OAuth apps in the Wagtail admin (Settings > OAuth apps): register an app that learners may
authorise (its client id, and its client secret shown once for a confidential app), see how many
learners it holds tokens of, remove it. Writes go through ``learning.oauth``; who may is the
permissions on django-oauth-toolkit's Application model (superusers; an admin may give them to a
group such as Editors in Settings > Groups, where they are listed as "OAuth apps")."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import include, path, reverse
from django.views.decorators.http import require_http_methods
from wagtail.admin.menu import MenuItem

from learning import oauth, tokens


class ApplicationForm(forms.Form):
    name = forms.CharField(max_length=oauth.NAME_MAX, help_text="Shown to learners on the consent page.")
    client_type = forms.ChoiceField(choices=list(oauth.CLIENT_TYPES.items()), widget=forms.RadioSelect,
                                    initial=oauth.Application.CLIENT_PUBLIC)
    redirect_uris = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line, matched exactly: where the app gets the learner back with the code.",
    )


def may_manage(user: Any) -> bool:
    """Whether ``user`` may see this screen (register or remove apps)."""
    return bool(user.is_active and (user.has_perm(oauth.PERMISSION_ADD) or user.has_perm(oauth.PERMISSION_DELETE)))


def _page(request: HttpRequest, *, form: ApplicationForm | None = None, new: oauth.NewApplication | None = None,
          status: int = 200) -> HttpResponse:
    applications = oauth.Application.objects.annotate(
        learners=Count("accesstoken__user", distinct=True),
    ).order_by("name", "pk")
    return render(request, "learning/admin/oauth_apps.html", {
        "applications": applications, "form": form or ApplicationForm(), "new": new, "scopes": tokens.SCOPES,
        "may_add": request.user.has_perm(oauth.PERMISSION_ADD), "may_delete": request.user.has_perm(oauth.PERMISSION_DELETE),
        "authorize_url": request.build_absolute_uri(reverse("oauth2_provider:authorize")),
        "token_url": request.build_absolute_uri(reverse("oauth2_provider:token")),
    }, status=status)


@require_http_methods(["GET", "POST"])
def index(request: HttpRequest) -> HttpResponse:
    """The apps; POST registers one (its secret, if any, is in this response only)."""
    if not may_manage(request.user):
        raise PermissionDenied
    if request.method == "GET":
        return _page(request)
    form = ApplicationForm(request.POST)
    if form.is_valid():
        try:
            new = oauth.application_create(
                by=request.user, name=form.cleaned_data["name"], client_type=form.cleaned_data["client_type"],
                redirect_uris=form.cleaned_data["redirect_uris"],
            )
        except oauth.OAuthError as exc:
            form.add_error(None, exc.message)
        else:
            response = _page(request, new=new)
            response["Cache-Control"] = "no-store"
            return response
    return _page(request, form=form, status=400)


@require_http_methods(["POST"])
def delete(request: HttpRequest, application_id: int) -> HttpResponse:
    """Remove an app and every token it holds."""
    try:
        removed = oauth.application_delete(by=request.user, application_id=application_id)
    except oauth.OAuthError as exc:
        raise PermissionDenied(exc.message) from exc
    if removed:
        messages.success(request, "App removed; its tokens no longer work.")
    return redirect("oauth_apps_admin:index")


urlpatterns = [
    path("", index, name="index"),
    path("<id:application_id>/delete/", delete, name="delete"),
]


class OAuthAppsMenuItem(MenuItem):
    """Settings > OAuth apps, for whoever may register or remove apps."""

    def is_shown(self, request: HttpRequest) -> bool:
        """With the permission."""
        return may_manage(request.user)


def menu_item() -> MenuItem:
    """Settings > OAuth apps."""
    return OAuthAppsMenuItem("OAuth apps", reverse("oauth_apps_admin:index"), icon_name="key", order=910)


def admin_urls() -> list[Any]:
    """Mounted at /admin/oauth-apps/."""
    return [path("oauth-apps/", include((urlpatterns, "oauth_apps_admin"), namespace="oauth_apps_admin"))]
