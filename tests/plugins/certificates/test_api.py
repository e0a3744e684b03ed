"""The certificates API (/api/v1/p/certificates/): a learner's certificates for an app, and
the public verification of a code under the verify page's limit."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from academy.plugins import activation
from plugins.certificates import services, tasks
from plugins.certificates.models import Certificate
from tests.learning.api.conftest import token_client
from tests.plugins.certificates.conftest import complete_course

pytestmark = pytest.mark.django_db


@pytest.fixture
def certificate(tree: Any, learner: Any) -> Certificate:
    """Ada's rendered certificate for Python basics."""
    complete_course(learner, tree.python)
    tasks.issue_certificate(user_id=learner.pk, course_id=tree.python.pk)
    return Certificate.objects.get(user=learner)


def test_a_learner_lists_their_certificates_with_links(certificate: Certificate, learner: Any, other_learner: Any) -> None:
    listed = token_client(learner).get("/api/v1/p/certificates/")
    assert listed.status_code == 200
    (row,) = listed.json()["results"]
    assert row["code"] == certificate.code and row["status"] == "valid"
    assert row["verify_url"] == f"http://testserver/certificates/{certificate.code}/"
    assert row["download_url"] == f"http://testserver/p/certificates/{certificate.code}/download/"
    assert token_client(other_learner).get("/api/v1/p/certificates/").json()["results"] == []
    assert APIClient().get("/api/v1/p/certificates/").status_code == 401


def test_a_revoked_certificate_has_no_download(certificate: Certificate, learner: Any, manager: Any) -> None:
    services.certificate_revoke(certificate=certificate, by=manager, reason="Copied answers")
    (row,) = token_client(learner).get("/api/v1/p/certificates/").json()["results"]
    assert row["status"] == "revoked" and row["download_url"] is None


def test_anyone_verifies_a_code_and_learns_only_what_the_page_says(certificate: Certificate) -> None:
    found = APIClient().get(f"/api/v1/p/certificates/verify/{certificate.code.upper()}/")
    assert found.status_code == 200
    assert found.json() == {
        "code": certificate.code, "status": "valid", "learner_name": certificate.learner_name,
        "course_title": "Python basics", "completed_on": certificate.completed_on.isoformat(),
    }
    assert "no-store" in found["Cache-Control"] and found["Referrer-Policy"] == "no-referrer"
    for code in ("c" * 32, "not a code", "x" * 500):
        missing = APIClient().get(f"/api/v1/p/certificates/verify/{code}/")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_verify_shares_the_pages_per_address_limit(certificate: Certificate, settings: Any) -> None:
    settings.CERTIFICATES_VERIFY_RATE = "3/h"
    client = APIClient(REMOTE_ADDR="203.0.113.9")
    statuses = [
        client.get(f"/certificates/{certificate.code}/").status_code,
        client.get(f"/api/v1/p/certificates/verify/{certificate.code}/").status_code,
        client.get("/api/v1/p/certificates/verify/" + "d" * 32 + "/").status_code,
    ]
    refused = client.get(f"/api/v1/p/certificates/verify/{certificate.code}/")
    assert statuses == [200, 200, 404]
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "throttled"
    assert 1 <= int(refused["Retry-After"]) <= 3600


def test_both_keep_answering_while_the_plugin_is_off(certificate: Certificate, learner: Any) -> None:
    activation.set_state("certificates", "off")
    assert token_client(learner).get("/api/v1/p/certificates/").status_code == 200
    assert APIClient().get(f"/api/v1/p/certificates/verify/{certificate.code}/").status_code == 200
