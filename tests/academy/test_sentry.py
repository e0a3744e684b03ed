"""Sentry: the real SDK, with Academy's integrations and scrubbers, sending to a capturing transport
(a subclass of the SDK's ``Transport``: every envelope that would leave the process is kept).

A failing view hit by a request that carries a session cookie, a CSRF token, an Authorization
header, a password field and an email address produces an event with none of them in it. The
failing task (reported by a real worker) is in tests/siteconfig/test_operations.py.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
import sentry_sdk
from django.test import Client
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from academy.sentry import FILTERED, init_sentry, scrub_breadcrumb, scrub_event, traces_sampler

SECRETS = {
    "session": "s3ss10nk3y0123456789abcdefghijkl",
    "csrf": "Csrf7okenValue0123456789ABCDEFGH",
    "bearer": "api-token-5f4dcc3b5aa765d61d8327deb882cf99",
    "password": "hunter2-Correct-Horse",
    "email": "ada.lovelace@example.com",
}


class CapturingTransport(Transport):
    """The SDK's transport interface, keeping envelopes instead of sending them."""

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)

    def events(self) -> list[dict[str, Any]]:
        return [event for envelope in self.envelopes if (event := envelope.get_event()) is not None]

    def raw(self) -> bytes:
        return b"".join(envelope.serialize() for envelope in self.envelopes)


@pytest.fixture
def sentry_transport() -> Iterator[CapturingTransport]:
    transport = CapturingTransport({"dsn": "https://public@sentry.example.invalid/1"})
    init_sentry(
        dsn="https://public@sentry.example.invalid/1", environment="test", release="academy@9.9.9",
        traces_sample_rate=1.0, transport=transport,
    )
    try:
        yield transport
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.init()


@pytest.mark.django_db
def test_failing_view_event_carries_no_secret(sentry_transport: CapturingTransport, settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.siteconfig.failing_urls"
    settings.FAILING_VIEW_ERROR = RuntimeError(
        f"could not mail {SECRETS['email']}: password={SECRETS['password']}"
    )
    logging.getLogger("academy.test").warning("about to mail %s with token=%s", SECRETS["email"], SECRETS["bearer"])
    client = Client(raise_request_exception=False)
    client.cookies["sessionid"] = SECRETS["session"]
    client.cookies["csrftoken"] = SECRETS["csrf"]

    response = client.post(
        f"/test/fail/?email={SECRETS['email']}",
        {"username": "ada", "password": SECRETS["password"], "email": SECRETS["email"],
         "csrfmiddlewaretoken": SECRETS["csrf"]},
        HTTP_AUTHORIZATION=f"Bearer {SECRETS['bearer']}",
        HTTP_X_CSRFTOKEN=SECRETS["csrf"],
    )
    sentry_sdk.flush()

    assert response.status_code == 500
    errors = [event for event in sentry_transport.events() if event.get("exception")]
    assert len(errors) == 1
    event = errors[0]
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert event["exception"]["values"][-1]["value"] == f"could not mail [email]: password={FILTERED}"
    assert (event["release"], event["environment"]) == ("academy@9.9.9", "test")
    assert event["request"]["data"] == {
        "username": "ada", "password": FILTERED, "email": FILTERED, "csrfmiddlewaretoken": FILTERED,
    }
    raw = sentry_transport.raw()
    leaked = [name for name, secret in SECRETS.items() if secret.encode() in raw]
    assert leaked == []
    # The breadcrumb from the log line is there, scrubbed.
    crumbs = [crumb["message"] for crumb in event["breadcrumbs"]["values"] if crumb.get("category") == "academy.test"]
    assert crumbs == [f"about to mail [email] with token={FILTERED}"]


def wsgi_get(path: str) -> str:
    """GET ``path`` through Django's real WSGI handler (where the SDK starts transactions)."""
    from wsgiref.util import setup_testing_defaults

    from django.core.wsgi import get_wsgi_application

    environ: dict[str, Any] = {"PATH_INFO": path, "HTTP_HOST": "127.0.0.1"}
    setup_testing_defaults(environ)
    statuses: list[str] = []
    body = get_wsgi_application()(environ, lambda status, headers, exc_info=None: statuses.append(status))
    b"".join(body)
    body.close()
    return statuses[0]


@pytest.mark.django_db(transaction=True)
def test_traces_are_sampled_but_probes_are_not(sentry_transport: CapturingTransport) -> None:
    statuses = [wsgi_get("/healthz"), wsgi_get("/metrics"), wsgi_get("/no-such-page/")]
    sentry_sdk.flush()

    assert statuses == ["200 OK", "404 Not Found", "404 Not Found"]
    transactions = [
        envelope.get_transaction_event() for envelope in sentry_transport.envelopes
        if envelope.get_transaction_event() is not None
    ]
    assert [event["request"]["url"].rsplit("/", 2)[-2] for event in transactions] == ["no-such-page"]


def test_scrub_event_replaces_secrets_wherever_they_sit() -> None:
    event = {
        "request": {
            "headers": {"Authorization": "Bearer abcdef123456", "Cookie": "sessionid=abc; csrftoken=def", "Accept": "*/*"},
            "cookies": {"sessionid": "abc"},
            "data": {"password": "pw", "title": "Hello"},
            "query_string": "next=/x&token=abcdef",
        },
        "user": {"id": 7, "email": "a@b.example", "ip_address": "10.0.0.1"},
        "extra": {"db_password": "x", "note": "write to bob@example.org", "pairs": [["X-Api-Key", "k"]]},
        "message": "Authorization: Basic QWxhZGRpbjpvcGVu",
    }

    assert scrub_event(event) == {
        "request": {
            "headers": {"Authorization": FILTERED, "Cookie": FILTERED, "Accept": "*/*"},
            "cookies": FILTERED,
            "data": {"password": FILTERED, "title": "Hello"},
            "query_string": f"next=/x&token={FILTERED}",
        },
        "user": {"id": 7},
        "extra": {"db_password": FILTERED, "note": "write to [email]", "pairs": [["X-Api-Key", FILTERED]]},
        "message": f"Authorization: Basic {FILTERED}",
    }


def test_scrub_breadcrumb_masks_emails_and_secret_pairs() -> None:
    crumb = {"category": "query", "message": "SELECT ... WHERE email = 'x@y.example'", "data": {"session_key": "k"}}

    assert scrub_breadcrumb(crumb) == {
        "category": "query", "message": "SELECT ... WHERE email = '[email]'", "data": {"session_key": FILTERED},
    }


def test_traces_sampler_skips_probes_and_follows_the_parent() -> None:
    sample = traces_sampler(0.25)

    assert sample({"wsgi_environ": {"PATH_INFO": "/metrics"}}) == 0.0
    assert sample({"asgi_scope": {"path": "/healthz"}}) == 0.0
    assert sample({"wsgi_environ": {"PATH_INFO": "/courses/"}}) == 0.25
    assert sample({"wsgi_environ": {"PATH_INFO": "/courses/"}, "parent_sampled": True}) == 1.0
