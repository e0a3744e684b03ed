"""OAuth 2 for apps: authorization code with PKCE under /o/, with Django's test client as the
browser and the app. An app's token acts as the learner and is limited to its scopes by the
same rule as a service token; revoking it (by the app, the learner or staff) is a 401 at once."""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.utils import timezone
from django.utils.html import escape
from oauth2_provider.models import Grant, get_refresh_token_model
from oauth2_provider.settings import oauth2_settings
from rest_framework.test import APIClient

from learning import oauth, tokens
from learning.sessions import sessions_end_all
from tests.courses.helpers import Tree
from tests.learning.conftest import make_user

REDIRECT_URI = "https://app.example/callback"


@pytest.fixture
def admin(db: None) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser("root", "root@example.com", "pw")


@pytest.fixture
def app(admin: Any) -> Any:
    """A public app (no secret: PKCE only)."""
    return oauth.application_create(by=admin, name="Study Buddy", client_type="public",
                                    redirect_uris=REDIRECT_URI).application


def pkce() -> tuple[str, str]:
    """A code verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_params(app: Any, challenge: str | None, *, scope: str = "read", method: str = "S256") -> dict[str, str]:
    params = {"response_type": "code", "client_id": app.client_id, "redirect_uri": REDIRECT_URI, "scope": scope,
              "state": "xyz"}
    if challenge is not None:
        params.update(code_challenge=challenge, code_challenge_method=method)
    return params


def redirect_query(response: Any) -> dict[str, str]:
    """The query of a redirect back to the app (asserting that it goes there)."""
    assert response.status_code == 302, response.content
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    return {key: values[0] for key, values in parse_qs(location.query).items()}


def browser_for(user: Any) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def allow(browser: Client, app: Any, challenge: str, *, scope: str = "read") -> str:
    """The learner allows the app on the consent page; the code the app gets back."""
    params = authorize_params(app, challenge, scope=scope)
    page = browser.get("/o/authorize/", params)
    assert page.status_code == 200, page.content
    query = redirect_query(browser.post("/o/authorize/", {**params, "allow": "Allow"}))
    assert query["state"] == "xyz"
    return query["code"]


def exchange(app: Any, code: str, verifier: str | None) -> Any:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "client_id": app.client_id}
    if verifier is not None:
        data["code_verifier"] = verifier
    return Client().post("/o/token/", data)


def grant(user: Any, app: Any, *, scope: str = "read") -> dict[str, Any]:
    """The whole dance; the token response."""
    verifier, challenge = pkce()
    response = exchange(app, allow(browser_for(user), app, challenge, scope=scope), verifier)
    assert response.status_code == 200, response.content
    return response.json()


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_the_full_flow_gives_a_token_that_acts_as_the_learner(tree: Tree, learner: Any, app: Any) -> None:
    verifier, challenge = pkce()
    browser = browser_for(learner)
    page = browser.get("/o/authorize/", authorize_params(app, challenge, scope="read report"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Study Buddy" in html and escape(tokens.SCOPES["read"]) in html and escape(tokens.SCOPES["report"]) in html
    assert 'data-scope="read"' in html and "data-allow" in html and "data-deny" in html
    assert '<link rel="stylesheet" href="/static/css/academy.css' in html  # the site's base template
    # The site's CSP, with the app's origin as the only extra form destination (the redirect).
    csp = dict(part.strip().split(" ", 1) for part in page["Content-Security-Policy"].split(";") if part.strip())
    assert csp["form-action"] == "'self' https://app.example"
    assert csp["script-src"] == "'self'"

    query = redirect_query(browser.post("/o/authorize/", {**authorize_params(app, challenge, scope="read report"),
                                                          "allow": "Allow"}))
    assert query["state"] == "xyz" and query["iss"]
    response = exchange(app, query["code"], verifier)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 3600, "read report")
    assert body["access_token"].startswith("acdo_") and body["refresh_token"].startswith("acdo_")

    me = bearer(body["access_token"]).get("/api/v1/me/")
    assert me.status_code == 200
    me = me.json()
    assert (me["username"], me["authenticated_by"], me["token_scopes"]) == ("ada", "oauth", ["read", "report"])
    assert me["token_expires_at"] is not None
    # As the learner, on the learner's own endpoints: enroll, then list.
    enrolled = bearer(body["access_token"]).post("/api/v1/enrollments/", {"course_id": tree.python.pk}, format="json")
    assert enrolled.status_code == 201, enrolled.content
    assert [row["course"]["id"] for row in bearer(body["access_token"]).get("/api/v1/enrollments/").json()["results"]] == [
        tree.python.pk
    ]
    # A code works once.
    assert exchange(app, query["code"], verifier).status_code == 400


def test_scopes_limit_the_staff_endpoints_by_the_service_token_rule(tree: Tree, staff: Any, learner: Any,
                                                                    app: Any) -> None:
    url = f"/api/v1/courses/{tree.python.pk}/enrollments/"
    reader = bearer(grant(staff, app, scope="read")["access_token"])
    assert reader.get(url).status_code == 200
    refused = reader.post(url, {"users": [{"id": learner.pk}]}, format="json")
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "insufficient_scope")
    assert reader.get(f"/api/v1/courses/{tree.python.pk}/progress/").json()["error"]["code"] == "insufficient_scope"
    enroller = bearer(grant(staff, app, scope="read enroll")["access_token"])
    assert enroller.post(url, {"users": [{"id": learner.pk}]}, format="json").status_code == 200
    # Scopes add to what the learner may do; they never make a learner staff.
    learner_token = bearer(grant(learner, app, scope="read enroll")["access_token"])
    denied = learner_token.get(url)
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "course_staff_only")
    # The same rule as a service token: one function decides.
    access_token = tokens.AccessToken.objects.filter(user=staff, scope="read").get()
    assert (tokens.token_allows(access_token, "read"), tokens.token_allows(access_token, "enroll")) == (True, False)


def test_a_wrong_verifier_or_none_is_refused(learner: Any, app: Any) -> None:
    _verifier, challenge = pkce()
    code = allow(browser_for(learner), app, challenge)
    wrong = exchange(app, code, pkce()[0])
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")
    code = allow(browser_for(learner), app, challenge)
    missing = exchange(app, code, None)
    assert missing.status_code == 400
    assert tokens.AccessToken.objects.count() == 0


def test_an_authorization_request_without_pkce_or_with_plain_is_refused(learner: Any, app: Any) -> None:
    browser = browser_for(learner)
    without = redirect_query(browser.get("/o/authorize/", authorize_params(app, None)))
    assert (without["error"], without["state"]) == ("invalid_request", "xyz")
    # "plain" (the verifier itself as the challenge) is refused when the learner answers: no code.
    verifier, _challenge = pkce()
    params = authorize_params(app, verifier, method="plain")
    plain = redirect_query(browser.post("/o/authorize/", {**params, "allow": "Allow"}))
    assert (plain["error"], "code" in plain) == ("invalid_request", False)
    assert not Grant.objects.exists()


def test_an_unknown_scope_or_redirect_uri_is_refused(learner: Any, app: Any) -> None:
    browser = browser_for(learner)
    _verifier, challenge = pkce()
    unknown = redirect_query(browser.get("/o/authorize/", authorize_params(app, challenge, scope="read everything")))
    assert unknown["error"] == "invalid_scope"
    foreign = browser.get("/o/authorize/", {**authorize_params(app, challenge), "redirect_uri": "https://evil.example/"})
    assert foreign.status_code == 400  # never redirected to an unregistered address
    assert 'data-oauth-error="invalid_request"' in foreign.content.decode()


def test_deny_sends_the_learner_back_with_access_denied(learner: Any, app: Any) -> None:
    _verifier, challenge = pkce()
    query = redirect_query(browser_for(learner).post("/o/authorize/", authorize_params(app, challenge)))
    assert (query["error"], query["state"]) == ("access_denied", "xyz")
    assert "code" not in query


def test_the_consent_page_sends_anonymous_visitors_to_log_in(app: Any) -> None:
    _verifier, challenge = pkce()
    params = authorize_params(app, challenge)
    response = Client().get("/o/authorize/", params)
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert (location.path, parse_qs(location.query)["next"]) == ("/accounts/login/", ["/o/authorize/?" + urlencode(params)])


def test_a_refresh_token_gives_a_new_access_token_once(learner: Any, app: Any) -> None:
    first = grant(learner, app)
    refreshed = Client().post("/o/token/", {"grant_type": "refresh_token", "refresh_token": first["refresh_token"],
                                             "client_id": app.client_id})
    assert refreshed.status_code == 200, refreshed.content
    second = refreshed.json()
    assert second["access_token"] != first["access_token"] and second["scope"] == "read"
    assert bearer(second["access_token"]).get("/api/v1/me/").status_code == 200
    old = bearer(first["access_token"]).get("/api/v1/me/")
    assert (old.status_code, old.json()["error"]["code"]) == (401, "invalid_token")
    # A refresh token used twice is a stolen one: refused, and the whole family is revoked.
    replay = Client().post("/o/token/", {"grant_type": "refresh_token", "refresh_token": first["refresh_token"],
                                          "client_id": app.client_id})
    assert replay.status_code == 400
    assert bearer(second["access_token"]).get("/api/v1/me/").status_code == 401


def test_revoked_and_expired_tokens_are_401_in_the_api_error_shape(learner: Any, app: Any) -> None:
    body = grant(learner, app)
    client = bearer(body["access_token"])
    assert client.get("/api/v1/me/").status_code == 200
    revoked = Client().post("/o/revoke_token/", {"token": body["access_token"], "client_id": app.client_id})
    assert revoked.status_code == 200
    after = client.get("/api/v1/me/")
    assert (after.status_code, after.json()["error"]["code"], after["WWW-Authenticate"]) == (
        401, "invalid_token", 'Bearer realm="api"'
    )
    expiring = grant(learner, app)
    tokens.AccessToken.objects.filter(user=learner).update(expires=timezone.now() - timedelta(seconds=1))
    expired = bearer(expiring["access_token"]).get("/api/v1/me/")
    assert (expired.status_code, expired.json()["error"]["code"]) == (401, "token_expired")
    unknown = bearer("acdo_" + "x" * 43).get("/api/v1/me/")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (401, "invalid_token")
    # Only in the header: a token in the query string is not read.
    query = APIClient().get("/api/v1/me/", {"access_token": grant(learner, app)["access_token"]})
    assert (query.status_code, query.json()["error"]["code"]) == (401, "not_authenticated")


def test_a_deactivated_learners_token_is_refused(learner: Any, app: Any) -> None:
    body = grant(learner, app)
    type(learner).objects.filter(pk=learner.pk).update(is_active=False)  # no signal: the token survives
    assert bearer(body["access_token"]).get("/api/v1/me/").status_code == 401


def test_the_learner_sees_and_revokes_the_apps_they_allowed(learner: Any, other_learner: Any, app: Any) -> None:
    body = grant(learner, app, scope="read report")
    grant(other_learner, app)
    browser = browser_for(learner)
    assert 'href="/accounts/apps/"' in browser.get("/accounts/tokens/").content.decode()
    page = browser.get("/accounts/apps/")
    html = page.content.decode()
    assert f'data-oauth-app="{app.pk}"' in html and "Study Buddy" in html and 'data-scope="report"' in html
    assert [(row.application.pk, row.scopes) for row in oauth.user_authorizations(user_id=learner.pk)] == [
        (app.pk, ["read", "report"])
    ]
    response = browser.post(f"/accounts/apps/{app.pk}/revoke/")
    assert (response.status_code, response["Location"]) == (302, "/accounts/apps/")
    assert bearer(body["access_token"]).get("/api/v1/me/").status_code == 401
    refresh = Client().post("/o/token/", {"grant_type": "refresh_token", "refresh_token": body["refresh_token"],
                                           "client_id": app.client_id})
    assert refresh.status_code == 400
    assert oauth.user_authorizations(user_id=learner.pk) == []
    assert [row.application.pk for row in oauth.user_authorizations(user_id=other_learner.pk)] == [app.pk]
    assert "data-oauth-apps-empty" in browser.get("/accounts/apps/").content.decode()
    assert Client().get("/accounts/apps/").status_code == 302  # login required
    # An id past the database's integer range is no such app, not a server error.
    assert browser.post(f"/accounts/apps/{2**63}/revoke/").status_code == 404


def test_logging_out_everywhere_ends_the_apps_tokens_too(learner: Any, app: Any) -> None:
    body = grant(learner, app)
    sessions_end_all(user=learner)
    assert bearer(body["access_token"]).get("/api/v1/me/").status_code == 401
    assert oauth.user_authorizations(user_id=learner.pk) == []


def test_a_socket_ticket_made_with_an_app_token_is_bound_to_the_authorisation(learner: Any, app: Any) -> None:
    body = grant(learner, app)
    response = bearer(body["access_token"]).post("/api/v1/socket-tickets/")
    assert response.status_code == 201, response.content
    credential = tokens.socket_ticket_redeem(response.json()["ticket"])
    assert credential is not None
    assert (credential.user.pk, credential.token_id, credential.session_key, credential.application_id) == (
        learner.pk, None, None, app.pk
    )
    assert tokens.authorization_is_current(application_id=app.pk, user=learner)
    oauth.authorization_revoke(user=learner, application_id=app.pk)
    assert not tokens.authorization_is_current(application_id=app.pk, user=learner)
    ticket = bearer(grant(learner, app)["access_token"]).post("/api/v1/socket-tickets/").json()["ticket"]
    oauth.authorization_revoke(user=learner, application_id=app.pk)
    assert tokens.socket_ticket_redeem(ticket) is None


def test_staff_register_apps_in_the_wagtail_admin(admin: Any, editor: Any) -> None:
    browser = browser_for(admin)
    page = browser.get("/admin/oauth-apps/")
    assert page.status_code == 200 and "data-app-form" in page.content.decode()
    made = browser.post("/admin/oauth-apps/", {"name": "Partner site", "client_type": "confidential",
                                               "redirect_uris": "https://partner.example/cb\nhttps://partner.example/cb2"})
    assert made.status_code == 200 and "no-store" in made["Cache-Control"]
    application = oauth.Application.objects.get(name="Partner site")
    html = made.content.decode()
    assert application.client_id in html and made.context["new"].client_secret in html
    assert application.client_secret != made.context["new"].client_secret  # stored hashed
    assert (application.client_type, application.authorization_grant_type, application.redirect_uris) == (
        "confidential", "authorization-code", "https://partner.example/cb https://partner.example/cb2"
    )
    bad = browser.post("/admin/oauth-apps/", {"name": "Bad", "client_type": "public", "redirect_uris": "ftp://x.example/"})
    assert bad.status_code == 400 and not oauth.Application.objects.filter(name="Bad").exists()
    # An editor without the permission neither sees nor uses the screen, until a group gives it.
    editors = browser_for(editor)
    for refused in (editors.get("/admin/oauth-apps/"), editors.post(f"/admin/oauth-apps/{application.pk}/delete/")):
        assert (refused.status_code, refused["Location"]) == (302, "/admin/")  # Wagtail's "no permission"
    assert oauth.Application.objects.filter(pk=application.pk).exists()
    Group.objects.get(name="Editors").permissions.add(
        *Permission.objects.filter(content_type__app_label="oauth2_provider", codename__in=["add_application",
                                                                                              "delete_application"]))
    editor = type(editor).objects.get(pk=editor.pk)
    editors = browser_for(editor)
    assert editors.get("/admin/oauth-apps/").status_code == 200
    assert editors.post(f"/admin/oauth-apps/{application.pk}/delete/").status_code == 302
    assert editors.post(f"/admin/oauth-apps/{2**63}/delete/").status_code == 404
    assert not oauth.Application.objects.filter(pk=application.pk).exists()


def test_removing_an_app_ends_its_tokens(admin: Any, learner: Any, app: Any) -> None:
    body = grant(learner, app)
    assert oauth.application_delete(by=admin, application_id=app.pk)
    assert bearer(body["access_token"]).get("/api/v1/me/").status_code == 401
    with pytest.raises(oauth.OAuthError):
        oauth.application_delete(by=make_user("mallory"), application_id=app.pk)


def test_the_schema_declares_the_oauth2_scheme_with_the_token_scopes(db: None) -> None:
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    scheme = schema["components"]["securitySchemes"]["oauth2"]
    assert scheme["type"] == "oauth2"
    assert scheme["flows"] == {"authorizationCode": {
        "authorizationUrl": "/o/authorize/", "tokenUrl": "/o/token/", "refreshUrl": "/o/token/", "scopes": tokens.SCOPES,
    }}
    staff_enroll = schema["paths"]["/api/v1/courses/{course_id}/enrollments/"]["post"]["security"]
    assert {"oauth2": ["enroll"]} in staff_enroll and {"personalAccessToken": []} in staff_enroll
    assert {"oauth2": []} in schema["paths"]["/api/v1/me/"]["get"]["security"]


def test_the_servers_metadata_tells_an_apps_library_what_the_server_does(learner: Any, app: Any) -> None:
    """RFC 8414 at the origin's root: what an OAuth library reads instead of being configured by
    hand. Only what is mounted and allowed is advertised, and its issuer is the ``iss`` that
    the authorization response carries (RFC 9207's mix-up defence)."""
    response = Client().get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    metadata = response.json()
    assert metadata["issuer"] == "http://testserver"
    assert {key: metadata[key] for key in (
        "authorization_endpoint", "token_endpoint", "revocation_endpoint", "introspection_endpoint",
    )} == {
        "authorization_endpoint": "http://testserver/o/authorize/",
        "token_endpoint": "http://testserver/o/token/",
        "revocation_endpoint": "http://testserver/o/revoke_token/",
        "introspection_endpoint": "http://testserver/o/introspect/",
    }
    assert metadata["scopes_supported"] == sorted(tokens.SCOPES)
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert "none" in metadata["token_endpoint_auth_methods_supported"]  # a public app: PKCE alone
    assert "registration_endpoint" not in metadata
    assert metadata["authorization_response_iss_parameter_supported"] is True
    # Each advertised endpoint is there: the token endpoint answers a bad request as OAuth does.
    assert Client().post(metadata["token_endpoint"].removeprefix("http://testserver"), {}).json()["error"]
    _verifier, challenge = pkce()
    query = redirect_query(browser_for(learner).post("/o/authorize/", {**authorize_params(app, challenge), "allow": "Allow"}))
    assert query["iss"] == metadata["issuer"]


def test_the_daily_cleanup_deletes_only_expired_app_tokens(learner: Any, app: Any) -> None:
    from learning import tasks

    live = grant(learner, app)
    old = grant(learner, app, scope="read report")
    # Dormant past the refresh token's lifetime: the access token expired 31 days ago.
    tokens.AccessToken.objects.filter(scope="read report").update(expires=timezone.now() - timedelta(days=31))
    tasks.clear_expired_oauth_tokens()
    assert list(tokens.AccessToken.objects.values_list("scope", flat=True)) == ["read"]
    assert get_refresh_token_model().objects.filter(user=learner).count() == 1
    assert bearer(live["access_token"]).get("/api/v1/me/").status_code == 200
    assert bearer(old["access_token"]).get("/api/v1/me/").status_code == 401


def test_staff_powers_outside_the_staff_endpoints_need_their_scope_or_a_personal_token(
    tree: Tree, staff: Any, learner: Any, admin: Any, app: Any
) -> None:
    """An app a staff member allowed with ``read`` sees a learner's enrollment but does not
    decide it (``enroll``); webhooks and moderation, which no scope grants, refuse every app or
    service token while the same people's personal tokens pass. The learner's own enrollment
    stays theirs to cancel with any token."""
    from learning import services
    from tests.learning.api.conftest import token_client

    pending = services.enrollment_request(user=learner, course=tree.sql).enrollment
    own = services.enrollment_request(user=learner, course=tree.python).enrollment
    reader = bearer(grant(staff, app, scope="read")["access_token"])
    assert reader.get(f"/api/v1/enrollments/{pending.pk}/").status_code == 200
    for action in ("approve", "cancel"):
        refused = reader.post(f"/api/v1/enrollments/{pending.pk}/{action}/")
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "insufficient_scope")
    pending.refresh_from_db()
    assert pending.status == "pending_approval"
    enroller = bearer(grant(staff, app, scope="read enroll")["access_token"])
    assert enroller.post(f"/api/v1/enrollments/{pending.pk}/approve/").status_code == 200
    learners_app = bearer(grant(learner, app, scope="read")["access_token"])
    assert learners_app.post(f"/api/v1/enrollments/{own.pk}/cancel/").status_code == 200

    superusers_app = bearer(grant(admin, app, scope="read enroll report users")["access_token"])
    for method, url in (("get", "/api/v1/p/webhooks/subscriptions/"), ("post", "/api/v1/p/discussions/threads/1/moderation/")):
        refused = getattr(superusers_app, method)(url, {}, format="json")
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "insufficient_scope"), url
    assert token_client(admin).get("/api/v1/p/webhooks/subscriptions/").status_code == 200
    personal = token_client(admin).post("/api/v1/p/discussions/threads/1/moderation/", {}, format="json")
    assert personal.status_code != 403
    schema = APIClient().get("/api/schema/?format=json").json()
    security = schema["paths"]["/api/v1/p/webhooks/subscriptions/"]["get"]["security"]
    assert all("oauth2" not in requirement for requirement in security)
    assert {"oauth2": ["enroll"]} in schema["paths"]["/api/v1/enrollments/{enrollment_id}/approve/"]["post"]["security"]


def test_an_authorisation_lives_while_a_refresh_token_is_within_its_lifetime(learner: Any, app: Any) -> None:
    """What keeps an app's socket open: an unexpired access token, or a refresh token neither
    revoked nor older than its lifetime (an app that stopped refreshing is gone)."""
    grant(learner, app)
    assert tokens.authorization_is_current(application_id=app.pk, user=learner)
    tokens.AccessToken.objects.filter(user=learner).update(expires=timezone.now() - timedelta(seconds=1))
    assert tokens.authorization_is_current(application_id=app.pk, user=learner)  # the refresh token
    lifetime = timedelta(seconds=oauth2_settings.REFRESH_TOKEN_EXPIRE_SECONDS + 1)
    get_refresh_token_model().objects.filter(user=learner).update(created=timezone.now() - lifetime)
    assert not tokens.authorization_is_current(application_id=app.pk, user=learner)
