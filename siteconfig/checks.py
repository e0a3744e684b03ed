"""System checks of a deployment: production refuses the demo logins of ``seed_demo``
(``academy.E001``) and mail that would only reach a log (``academy.E002``).

``seed_demo`` creates admin/admin, editor/editor and learner/learner when DEBUG is on. A database
seeded that way and then served with ``DJANGO_DEBUG=0`` would accept them, so this is an Error:
with ``DJANGO_DEBUG=0`` it stops ``check``, ``migrate`` (compose's migrate job, so web and worker
never start), ``qcluster`` and ``run_academy`` until the passwords are changed
(``manage.py changepassword`` runs no checks, so it stays available). ``check --deploy`` reports
it in debug mode too.

Cost: one query for the active demo usernames; a password hash is verified only for those that
exist (PBKDF2, ~0.7 s each on a 2-core machine), which a production database normally has none of.
"""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.core.checks import CheckMessage, Error, Tags, register
from django.db import DatabaseError

from courses.demo_content import DEMO_ACCOUNTS

DEMO_PASSWORD_ERROR_ID = "academy.E001"
LOGGED_EMAIL_ERROR_ID = "academy.E002"
# Backends that deliver nothing: they print, keep in memory, write files or drop the message.
UNDELIVERED_EMAIL_BACKENDS = frozenset({
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
})
# ``EMAIL_URL=console://`` says "log the mail" on purpose (a trial of the compose stack).
CONSOLE_EMAIL_URL_SCHEME = "console:"


def demo_accounts_with_demo_password() -> list[str]:
    """Usernames of active demo accounts whose password is still the demo one (one query)."""
    passwords = {username: password for username, password, _role in DEMO_ACCOUNTS}
    try:
        rows = list(
            get_user_model()
            .objects.filter(username__in=passwords, is_active=True)
            .values_list("username", "password")
        )
    except DatabaseError:
        # No users table yet (``migrate`` runs the checks before migrating a fresh database),
        # or no database at all: there is no account to refuse; /readyz reports the database.
        return []
    # hashers.check_password with no setter: verifying never rewrites the stored hash.
    return sorted(username for username, encoded in rows if check_password(passwords[username], encoded))


def _demo_password_errors(app_configs: list[AppConfig] | None) -> list[CheckMessage]:
    if app_configs is not None and not any(config.label == "auth" for config in app_configs):
        return []
    names = demo_accounts_with_demo_password()
    if not names:
        return []
    return [
        Error(
            f"Demo account{'s' if len(names) > 1 else ''} {', '.join(names)} still "
            f"{'have their' if len(names) > 1 else 'has its'} demo password (from seed_demo); "
            "anyone can log in with it.",
            hint="Change it: " + "; ".join(f"python manage.py changepassword {name}" for name in names)
            + " (or deactivate the account).",
            id=DEMO_PASSWORD_ERROR_ID,
        )
    ]


@register(Tags.security)
def check_demo_passwords(app_configs: list[AppConfig] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """Production (DEBUG off): every ``check`` and every command that runs checks refuses."""
    if settings.DEBUG:
        return []
    return _demo_password_errors(app_configs)


@register(Tags.security, deploy=True)
def check_demo_passwords_deploy(app_configs: list[AppConfig] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """``check --deploy`` in debug mode: the settings about to go to production.

    With DEBUG off, ``check --deploy`` runs the check above as well; reporting here too would
    list the same error twice.
    """
    if not settings.DEBUG:
        return []
    return _demo_password_errors(app_configs)


@register(Tags.security)
def check_production_email(app_configs: list[AppConfig] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """Production (DEBUG off) whose mail backend delivers nothing, unless chosen on purpose.

    Without ``EMAIL_URL`` (or ``EMAIL_HOST``) the settings fall back to the console backend:
    password-reset links and invitations would land in the worker's log, and nobody would know.
    ``EMAIL_URL=console://`` is that choice made explicitly, and passes.
    """
    if settings.DEBUG or settings.EMAIL_BACKEND not in UNDELIVERED_EMAIL_BACKENDS:
        return []
    if str(getattr(settings, "EMAIL_URL", "") or "").startswith(CONSOLE_EMAIL_URL_SCHEME):
        return []
    return [
        Error(
            f"Mail would go to {settings.EMAIL_BACKEND}: password-reset links and invitations would "
            "only reach a log.",
            hint="Set EMAIL_URL=smtp://user:pass@host:587?tls=1 (or smtps://), or EMAIL_URL=console:// "
            "to log mail on purpose.",
            id=LOGGED_EMAIL_ERROR_ID,
        )
    ]
