"""The public verify page, the download (owner and staff only) and the "name on certificates"
setting, through the project's URLs."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from academy.plugins import activation
from plugins.certificates import services, tasks
from plugins.certificates.models import Certificate, CertificateName
from tests.plugins.certificates.conftest import certificate_staff, complete_course, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def certificate(tree: Any, learner: Any) -> Certificate:
    """Ada's rendered certificate for Python basics."""
    complete_course(learner, tree.python)
    tasks.issue_certificate(user_id=learner.pk, course_id=tree.python.pk)
    return Certificate.objects.get(user=learner)


def _client(user: Any = None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


# --- verify ---------------------------------------------------------------------------------


def test_verify_valid_certificate_as_anonymous_shows_status_name_course_date_only(
    certificate: Certificate, learner: Any
) -> None:
    response = Client().get(f"/certificates/{certificate.code}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-status="valid"' in html
    assert '<dd data-certificate-name>Ada Lovelace</dd>' in html
    assert '<dd data-certificate-course>Python basics</dd>' in html
    assert f'<time datetime="{certificate.completed_on:%Y-%m-%d}">' in html
    for private in (learner.email, learner.username, f'"{learner.pk}"', "Revoked"):
        assert private not in html
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert "no-store" in response["Cache-Control"]


def test_verify_revoked_certificate_says_revoked_and_not_the_reason(
    certificate: Certificate, manager: Any
) -> None:
    services.certificate_revoke(certificate=certificate, by=manager, reason="Plagiarised final project")

    response = Client().get(f"/certificates/{certificate.code}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-status="revoked"' in html
    assert "This certificate was revoked" in html
    assert "Plagiarised" not in html


def test_verify_accepts_the_code_in_capitals(certificate: Certificate) -> None:
    assert Client().get(f"/certificates/{certificate.code.upper()}/").status_code == 200


@pytest.mark.parametrize("code", ["a" * 32, "short", "x" * 300, "not-a-code%00", "../admin"])
def test_verify_unknown_or_malformed_code_is_404(certificate: Certificate, code: str) -> None:
    response = Client().get(f"/certificates/{code}/")
    assert response.status_code == 404
    assert certificate.learner_name not in response.content.decode()


def test_verify_unknown_code_page_says_not_found(certificate: Certificate) -> None:
    response = Client().get(f"/certificates/{'f' * 32}/")
    assert response.status_code == 404
    html = response.content.decode()
    assert 'data-status="unknown"' in html
    assert "No certificate has this code." in html


def test_verify_looks_a_known_and_an_unknown_code_up_with_the_same_one_query(
    certificate: Certificate, django_assert_num_queries: Any
) -> None:
    client = Client()
    near_miss = certificate.code[:-1] + ("b" if certificate.code.endswith("a") else "a")
    activation.table()  # warm, as on every request after the first
    with django_assert_num_queries(1) as known:  # the certificate, by its unique code
        assert client.get(f"/certificates/{certificate.code}/").status_code == 200
    # The same query, nothing found; then, as for every 404 of the site, Wagtail's redirect
    # middleware looks for a redirect (the site, the redirect).
    with django_assert_num_queries(3) as unknown:
        assert client.get(f"/certificates/{near_miss}/").status_code == 404
    assert unknown.captured_queries[0]["sql"].replace(near_miss, certificate.code) == (
        known.captured_queries[0]["sql"]
    )


def test_verify_lookups_are_rate_limited_per_address_known_or_unknown(certificate: Certificate, settings: Any) -> None:
    settings.CERTIFICATES_VERIFY_RATE = "3/h"
    client = Client(REMOTE_ADDR="203.0.113.9")
    answers = [
        client.get(f"/certificates/{code}/").status_code
        for code in (certificate.code, "c" * 32, "d" * 32, certificate.code)
    ]
    assert answers == [200, 404, 404, 429]
    refused = client.get(f"/certificates/{certificate.code}/")
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 3600
    # Another address has its own window.
    assert Client(REMOTE_ADDR="203.0.113.10").get(f"/certificates/{certificate.code}/").status_code == 200


def test_verify_post_is_refused(certificate: Certificate) -> None:
    assert Client().post(f"/certificates/{certificate.code}/").status_code == 405


# --- download -------------------------------------------------------------------------------


def test_owner_downloads_the_pdf(certificate: Certificate, learner: Any) -> None:
    response = _client(learner).get(f"/p/certificates/{certificate.code}/download/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="certificate-python-basics.pdf"'
    assert response["Cache-Control"] == "private, no-store"
    assert response.content == services.certificate_pdf(certificate)
    assert response.content.startswith(b"%PDF-")


def _downloads(user: Any, certificate: Certificate) -> int:
    return _client(user).get(f"/p/certificates/{certificate.code}/download/").status_code


def test_staff_of_the_course_download_its_certificates_even_revoked(
    tree: Any, certificate: Certificate, manager: Any
) -> None:
    services.certificate_revoke(certificate=certificate, by=manager, reason="Mistake")
    reader = certificate_staff("vic", tree.python, manage=False)
    response = _client(reader).get(f"/p/certificates/{certificate.code}/download/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content == services.certificate_pdf(certificate)
    superuser = make_user("root", is_staff=True, is_superuser=True)
    assert _downloads(superuser, certificate) == 200


def test_staff_of_another_course_or_without_page_permissions_get_the_strangers_404(
    tree: Any, certificate: Certificate, other_learner: Any
) -> None:
    """Staff of Databases with SQL, certificate staff who edit no course, and a plain ``is_staff``
    account are refused Ada's Python basics certificate exactly like another learner."""
    stranger = _downloads(other_learner, certificate)
    assert stranger == 404
    for user in (
        certificate_staff("sue", tree.sql),
        certificate_staff("nina"),
        make_user("plain-staff", is_staff=True),
    ):
        assert _downloads(user, certificate) == stranger, user.username


def test_other_learner_gets_404_and_anonymous_is_sent_to_login(certificate: Certificate, other_learner: Any) -> None:
    url = f"/p/certificates/{certificate.code}/download/"
    assert _client(other_learner).get(url).status_code == 404
    anonymous = Client().get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/?next=")


def test_owner_of_a_revoked_certificate_gets_403(certificate: Certificate, learner: Any, manager: Any) -> None:
    services.certificate_revoke(certificate=certificate, by=manager, reason="Mistake")
    response = _client(learner).get(f"/p/certificates/{certificate.code}/download/")
    assert response.status_code == 403
    assert "was revoked" in response.content.decode()


def test_download_while_being_prepared_is_404(tree: Any, learner: Any) -> None:
    complete_course(learner, tree.python)
    pending = services.certificate_issue(user_id=learner.pk, course_id=tree.python.pk)
    assert _client(learner).get(f"/p/certificates/{pending.code}/download/").status_code == 404


@pytest.mark.parametrize("code", ["e" * 32, "nul%00byte", "x" * 300])
def test_download_unknown_or_malformed_code_is_404(learner: Any, db: None, code: str) -> None:
    assert _client(learner).get(f"/p/certificates/{code}/download/").status_code == 404


# --- name on certificates -------------------------------------------------------------------


def test_name_setting_page_shows_the_default_and_saves_a_chosen_name(learner: Any) -> None:
    client = _client(learner)
    page = client.get("/p/certificates/name/")
    assert page.status_code == 200
    assert 'placeholder="Ada Lovelace"' in page.content.decode()

    saved = client.post("/p/certificates/name/", {"name": "Augusta Ada King", "next": "/dashboard/"})

    assert saved.status_code == 302
    assert saved["Location"] == "/dashboard/"
    assert CertificateName.objects.get(user=learner).name == "Augusta Ada King"
    assert 'value="Augusta Ada King"' in client.get("/p/certificates/name/").content.decode()


def test_name_setting_refuses_a_bad_name_with_400_and_keeps_the_old_one(learner: Any) -> None:
    client = _client(learner)
    client.post("/p/certificates/name/", {"name": "Ada"})
    refused = client.post("/p/certificates/name/", {"name": "y" * 500})
    assert refused.status_code == 400
    assert "at most 120 characters" in refused.content.decode()
    assert CertificateName.objects.get(user=learner).name == "Ada"


def test_name_setting_needs_login(db: None) -> None:
    response = Client().get("/p/certificates/name/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/p/certificates/name/"


def test_name_setting_ignores_a_foreign_next(learner: Any) -> None:
    saved = _client(learner).post("/p/certificates/name/", {"name": "Ada", "next": "https://evil.example/"})
    assert saved["Location"] == "/p/certificates/name/"


# --- issued certificates outlive the plugin being switched off ---------------------------------


@pytest.mark.parametrize("where", ["site", "course"])
def test_issued_certificate_stays_verifiable_and_downloadable_when_switched_off(
    certificate: Certificate, learner: Any, tree: Any, where: str
) -> None:
    """Issue 19: switching certificates off site-wide made every issued one a 404. Issuing stops;
    verifying (public) and the owner's PDF stay; the plugin's other pages follow the switch."""
    activation.set_state("certificates", "off", course_id=tree.python.pk if where == "course" else None)
    owner = _client(learner)

    verified = Client().get(f"/certificates/{certificate.code}/")
    downloaded = owner.get(f"/p/certificates/{certificate.code}/download/")

    assert verified.status_code == 200
    assert 'data-status="valid"' in verified.content.decode()
    assert (downloaded.status_code, downloaded["Content-Type"]) == (200, "application/pdf")
    assert downloaded.content.startswith(b"%PDF")
    assert owner.get("/p/certificates/name/").status_code == (404 if where == "site" else 200)
    assert Client().get(f"/certificates/{'f' * 32}/").status_code == 404
