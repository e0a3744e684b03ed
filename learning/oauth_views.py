"""The OAuth 2 provider's URLs under ``/o/`` (django-oauth-toolkit's views; ``learning.oauth``):
``authorize/`` (the learner's consent page), ``token/`` (code and refresh token exchange),
``revoke_token/`` (an app gives a token back) and ``introspect/`` (RFC 7662); its metadata at
``/.well-known/oauth-authorization-server`` (RFC 8414, mounted at the root). The provider's
other views (device flow, its own application screens) are not mounted: staff register apps in
the Wagtail admin and learners see theirs on the account page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.http import HttpResponse
from django.urls import path
from oauth2_provider import views as provider

from learning import tokens

app_name = "oauth2_provider"

TEMPLATE = "learning/oauth_authorize.html"


def form_action_source(redirect_uri: str) -> str | None:
    """The CSP source that lets the consent form's redirect reach ``redirect_uri``: its origin
    (``https://app.example``), or its scheme for a native app (``com.example.app:``)."""
    parts = urlsplit(redirect_uri)
    if not parts.scheme:
        return None
    if parts.scheme in ("http", "https"):
        return f"{parts.scheme}://{parts.netloc}" if parts.netloc else None
    return f"{parts.scheme}:"


class AuthorizeView(provider.AuthorizationView):
    """The consent page in the site's look (``learning/oauth_authorize.html``): anonymous
    visitors are sent to the login page first. The site's CSP stays as it is, with one source
    added to ``form-action``: the app's redirect URI, which the Allow/Deny post redirects to (a
    browser applies form-action to that redirect too)."""

    template_name = TEMPLATE

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        """The provider's context, with each asked scope beside its words (``tokens.SCOPES``)."""
        context = super().get_context_data(**kwargs)
        context["scope_rows"] = [(scope, tokens.SCOPES[scope]) for scope in context.get("scopes") or ()
                                 if scope in tokens.SCOPES]
        return context

    def render_to_response(self, context: dict[str, Any], **kwargs: Any) -> HttpResponse:
        """The page; with the redirect URI's origin allowed as the form's destination."""
        response = super().render_to_response(context, **kwargs)
        source = form_action_source(str(context.get("redirect_uri") or ""))
        if source is not None:
            response._csp_update = {"form-action": [source]}  # django-csp's per-response update
        return response


class ServerMetadataView(provider.OAuthServerMetadataView):
    """``/.well-known/oauth-authorization-server`` (RFC 8414): the endpoints under ``/o/``, the
    scopes, ``code`` with PKCE ``S256`` only, and how apps authenticate at the token endpoint
    (``none`` for a public app, which proves itself with PKCE alone). Its ``issuer`` is the
    site's origin, the value the authorization response's ``iss`` carries (RFC 9207)."""


urlpatterns = [
    path("authorize/", AuthorizeView.as_view(), name="authorize"),
    path("token/", provider.TokenView.as_view(), name="token"),
    path("revoke_token/", provider.RevokeTokenView.as_view(), name="revoke-token"),
    path("introspect/", provider.IntrospectTokenView.as_view(), name="introspect"),
]
