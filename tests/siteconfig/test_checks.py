"""Production system checks (siteconfig/checks.py): the demo logins (``academy.E001``) and mail
that would only reach a log (``academy.E002``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from courses.demo_content import DEMO_ACCOUNTS
from siteconfig import checks
from tests.realtime.support import ROOT, child_env

User = get_user_model()


def _seed_demo_accounts() -> dict[str, Any]:
    """The demo accounts exactly as seed_demo makes them in debug mode."""
    users = {}
    for username, password, role in DEMO_ACCOUNTS:
        make = User.objects.create_superuser if role == "superuser" else User.objects.create_user
        users[username] = make(username, f"{username}@example.com", password)
    return users


def _check_errors(**options: Any) -> str:
    """The text of the SystemCheckError ``manage.py check`` raises, or "" when it passes."""
    try:
        call_command("check", **options)
    except SystemCheckError as exc:
        return str(exc)
    return ""


@pytest.mark.django_db
def test_demo_passwords_are_a_check_error_in_production(settings: Any) -> None:
    _seed_demo_accounts()
    settings.DEBUG = False
    errors = _check_errors()
    assert "(academy.E001) Demo accounts admin, assistant, editor, learner, teacher still have their demo password" in errors
    assert "HINT: Change it: python manage.py changepassword admin; python manage.py changepassword assistant; " in errors
    # check --deploy runs the normal checks too: the error is listed once, not twice.
    assert _check_errors(deploy=True).count("academy.E001") == 1


@pytest.mark.django_db
def test_demo_password_check_names_only_accounts_that_still_have_it(settings: Any) -> None:
    users = _seed_demo_accounts()
    settings.DEBUG = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"  # else academy.E002
    users["admin"].set_password("a long and new passphrase")
    users["admin"].save()
    users["editor"].is_active = False  # cannot log in any more
    users["editor"].save()
    for name in ("teacher", "assistant"):
        users[name].set_password(f"a new passphrase for {name}")
        users[name].save()
    assert [message.msg for message in checks.check_demo_passwords()] == [
        "Demo account learner still has its demo password (from seed_demo); anyone can log in with it."
    ]
    users["learner"].set_password("another long passphrase")
    users["learner"].save()
    assert checks.check_demo_passwords() == []
    assert _check_errors() == ""


@pytest.mark.django_db
def test_demo_password_check_is_silent_in_debug_but_check_deploy_reports_it(settings: Any) -> None:
    _seed_demo_accounts()
    settings.DEBUG = True
    assert _check_errors() == ""
    assert _check_errors(deploy=True).count("academy.E001") == 1


@pytest.mark.django_db
def test_demo_password_check_costs_one_query(settings: Any, django_assert_num_queries: Any) -> None:
    User.objects.create_user("ada", "ada@example.com", "learner")  # the demo password, not a demo name
    User.objects.create_user("admin", "admin@example.com", "a long and new passphrase")
    settings.DEBUG = False
    # One query: the active accounts among the demo usernames (then one hash verified, for admin).
    with django_assert_num_queries(1):
        assert checks.check_demo_passwords() == []


@pytest.mark.django_db(transaction=True)
def test_production_management_commands_refuse_to_start_with_demo_passwords() -> None:
    users = _seed_demo_accounts()
    env = child_env(
        DJANGO_SETTINGS_MODULE="tests.realtime.server_settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="a-long-random-production-secret-key-" + "x7Qp2" * 10,
        DJANGO_ALLOWED_HOSTS="academy.example.com",
        EMAIL_URL="console://",  # mail on purpose to the log (else academy.E002)
    )

    def manage(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )

    refused = manage("migrate", "--check")
    assert refused.returncode == 1
    assert "(academy.E001) Demo accounts admin, assistant, editor, learner, teacher still have their demo password" in refused.stderr
    for user in users.values():
        user.set_password(f"{user.username} has a real passphrase now")
        user.save()
    passed = manage("check", "--deploy", "--fail-level", "WARNING")
    assert (passed.returncode, passed.stderr) == (0, "")


# --- academy.E002: production mail that only reaches a log ---------------------------------------

PRODUCTION_ENV = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "a-long-random-production-secret-key-" + "x7Qp2" * 10,
    "DJANGO_ALLOWED_HOSTS": "academy.example.com",
}


def _manage_clean(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``manage.py`` in production mode (embedded) with no mail configuration but ``env``'s."""
    import os

    clean = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "EMAIL_", "PYTEST", "DATABASE_URL"))
    }
    clean.update(PRODUCTION_ENV, ACADEMY_DATA_DIR=str(data_dir), **env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def test_production_without_email_url_is_a_check_error(tmp_path: Path) -> None:
    """Issue 19: DEBUG off and no EMAIL_URL sent reset links to the console log, silently."""
    refused = _manage_clean(tmp_path, "check", "--deploy")
    assert refused.returncode == 1
    assert (
        "(academy.E002) Mail would go to django.core.mail.backends.console.EmailBackend: "
        "password-reset links and invitations would only reach a log." in refused.stderr
    )
    assert "HINT: Set EMAIL_URL=smtp://user:pass@host:587?tls=1 (or smtps://)" in refused.stderr
    # An SMTP server, or console:// chosen on purpose, passes.
    for email_url in ("smtp://mailer@smtp.example.com:587?tls=1", "console://"):
        passed = _manage_clean(tmp_path, "check", "--deploy", "--fail-level", "WARNING", EMAIL_URL=email_url)
        assert (passed.returncode, passed.stderr) == (0, ""), email_url


@pytest.mark.parametrize(
    ("debug", "backend", "email_url", "expected"),
    [
        (False, "django.core.mail.backends.console.EmailBackend", "", ["academy.E002"]),
        (False, "django.core.mail.backends.locmem.EmailBackend", "", ["academy.E002"]),
        (False, "django.core.mail.backends.dummy.EmailBackend", "", ["academy.E002"]),
        (False, "django.core.mail.backends.console.EmailBackend", "console://", []),
        (False, "django.core.mail.backends.smtp.EmailBackend", "", []),
        (True, "django.core.mail.backends.console.EmailBackend", "", []),
    ],
)
def test_email_check_fires_only_for_production_mail_that_goes_nowhere(
    settings: Any, debug: bool, backend: str, email_url: str, expected: list[str]
) -> None:
    settings.DEBUG = debug
    settings.EMAIL_BACKEND = backend
    settings.EMAIL_URL = email_url
    assert [message.id for message in checks.check_production_email()] == expected
