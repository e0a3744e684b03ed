"""Configuration from the environment: production mode, deploy checks, email URLs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from siteconfig.settings import _email_from_url

ROOT = Path(__file__).resolve().parents[2]


def _manage(args: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_URL"))}
    clean.update(env, ACADEMY_DATA_DIR=str(tmp_path))
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def test_production_mode_refuses_to_start_without_secret_key(tmp_path: Path) -> None:
    result = _manage(["check"], {"DJANGO_DEBUG": "0"}, tmp_path)
    assert result.returncode == 1
    assert "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off" in result.stderr


def test_production_settings_pass_deploy_checks_without_warnings(tmp_path: Path) -> None:
    env = {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "a-long-random-production-secret-key-" + "x7Qp2" * 10,
        "DJANGO_ALLOWED_HOSTS": "academy.example.com",
        "EMAIL_URL": "smtp://mailer@smtp.example.com:587?tls=1",
    }
    result = _manage(["check", "--deploy", "--fail-level", "WARNING"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize(("preload", "expected"), [(None, "False"), ("1", "True")])
def test_hsts_preload_is_opt_in_and_deploy_checks_stay_clean(tmp_path: Path, preload: str | None, expected: str) -> None:
    env = {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "a-long-random-production-secret-key-" + "x7Qp2" * 10,
        "DJANGO_ALLOWED_HOSTS": "academy.example.com",
        "EMAIL_URL": "smtp://mailer@smtp.example.com:587?tls=1",
        **({"DJANGO_HSTS_PRELOAD": preload} if preload else {}),
    }
    shown = _manage(["shell", "-c", "from django.conf import settings; print(settings.SECURE_HSTS_PRELOAD)"], env, tmp_path)
    checked = _manage(["check", "--deploy", "--fail-level", "WARNING"], env, tmp_path)

    assert shown.stdout.strip().splitlines()[-1] == expected, shown.stderr
    assert checked.returncode == 0, checked.stderr


def test_a_boolean_variable_with_a_typo_is_refused(tmp_path: Path) -> None:
    result = _manage(["check"], {"DJANGO_DEBUG": "maybe"}, tmp_path)
    assert result.returncode == 1
    assert "DJANGO_DEBUG must be a boolean" in result.stderr


def test_email_url_smtp_with_credentials_and_tls() -> None:
    assert _email_from_url("smtp://mailer:s%40cret@mail.example.com:587?tls=1") == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "mail.example.com",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "mailer",
        "EMAIL_HOST_PASSWORD": "s@cret",
        "EMAIL_USE_SSL": False,
        "EMAIL_USE_TLS": True,
    }


def test_email_url_smtps_defaults_to_port_465() -> None:
    settings = _email_from_url("smtps://mail.example.com")
    assert settings["EMAIL_PORT"] == 465
    assert settings["EMAIL_USE_SSL"] is True


def test_email_url_with_unknown_scheme_is_refused() -> None:
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL scheme"):
        _email_from_url("http://mail.example.com")


def test_embedded_cache_keeps_a_thousand_pages(tmp_path: Path) -> None:
    """The file cache (no REDIS_URL) keeps what a site of some hundred pages stores: Django's
    default bound of 300 entries culled a third of the page cache on every write past it."""
    script = (
        "from django.core.cache import cache\n"
        "for n in range(1000): cache.set(f'page-{n}', n)\n"
        "print(sum(cache.get(f'page-{n}') == n for n in range(1000)))\n"
    )
    result = _manage(["shell", "-c", script], {"REDIS_URL": ""}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "1000"
