"""Sessions that end when they should: a password change (or reset), a deactivation or "log out
everywhere" ends every login session of the user, over HTTP and on open WebSockets at once, and
every API token of the user with them (``tokens.tokens_end_all``).

Over HTTP Django already refuses the old sessions after a password change (the session's auth
hash no longer matches) and for a deactivated user (the backend refuses inactive users); "log
out everywhere" deletes them (every one is known through ``LoginSession``). Tokens are deleted
in every case (a token checks no password hash, so nothing else would end it). In every case the
``sessions_ended`` domain event is sent after commit, and ``realtime`` closes every socket of
the user (4401) on every process.

Why a small table and not a session library (django-user-sessions, django-qsessions): both
replace the session engine and its table, which other parts and tests use directly; recording
the keys beside Django's own engine is the smaller change.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db import transaction
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver
from django.utils import timezone

from learning import events, tokens
from learning.events import SessionsEndedPayload
from learning.models import LoginSession

# Saves naming only other fields (``last_login`` on every login) need no check.
_CREDENTIAL_FIELDS = frozenset({"password", "is_active"})
_ENDED_REASON = "_academy_sessions_ended"


def session_record(*, user: Any, session_key: str | None) -> None:
    """Remember that ``session_key`` is a login session of ``user`` (idempotent)."""
    if user is None or getattr(user, "pk", None) is None or not session_key:
        return
    LoginSession.objects.update_or_create(session_key=session_key, defaults={"user_id": user.pk})


def user_sessions(*, user_id: int) -> list[LoginSession]:
    """The user's login sessions that still exist (not logged out, not expired), newest first:
    the account page lists them beside the tokens. One query."""
    from django.contrib.sessions.models import Session

    alive = Session.objects.filter(expire_date__gt=timezone.now()).values("session_key")
    return list(
        LoginSession.objects.filter(user_id=user_id, session_key__in=alive).order_by("-created_at", "-pk")
    )


def sessions_end_all(*, user: Any, current_session_key: str | None = None) -> int:
    """End every login session of ``user`` (the current one too) and every API token; return
    how many sessions ended.

    The sessions are deleted from the session store (database and cache), their records and
    the tokens too, in one transaction; ``sessions_ended`` is sent after commit, so every open
    socket closes.
    """
    store = import_module(settings.SESSION_ENGINE).SessionStore
    with transaction.atomic():
        keys = set(LoginSession.objects.filter(user_id=user.pk).values_list("session_key", flat=True))
        if current_session_key:
            keys.add(current_session_key)
        for key in sorted(keys):
            store(key).delete()
        LoginSession.objects.filter(user_id=user.pk).delete()
        tokens.tokens_end_all(user_id=user.pk)
        events.sessions_ended.emit(SessionsEndedPayload(user_id=user.pk, reason="logout_everywhere"))
    return len(keys)


def prune_login_sessions() -> int:
    """Forget sessions that no longer exist (expired and cleared); return how many."""
    from django.contrib.sessions.models import Session

    deleted, _ = LoginSession.objects.exclude(session_key__in=Session.objects.values("session_key")).delete()
    return deleted


@receiver(user_logged_in, dispatch_uid="learning.sessions.logged_in")
def on_logged_in(sender: type, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    """Record the new login session."""
    session_record(user=user, session_key=getattr(getattr(request, "session", None), "session_key", None))


@receiver(user_logged_out, dispatch_uid="learning.sessions.logged_out")
def on_logged_out(sender: type, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    """Forget the session that logged out."""
    key = getattr(getattr(request, "session", None), "session_key", None)
    if key:
        LoginSession.objects.filter(session_key=key).delete()


@receiver(pre_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="learning.sessions.credentials_before")
def note_credentials_change(
    sender: type, instance: Any, raw: bool = False, update_fields: Any = None, **kwargs: Any
) -> None:
    """Before a user is saved: note whether the password changes or the account is deactivated."""
    if raw or instance.pk is None or (update_fields is not None and not _CREDENTIAL_FIELDS & set(update_fields)):
        return
    before = sender.objects.filter(pk=instance.pk).values_list("password", "is_active").first()
    if before is None:
        return
    password, was_active = before
    reason = ""
    if was_active and not instance.is_active:
        reason = "deactivated"
    elif password != instance.password:
        reason = "password_changed"
    setattr(instance, _ENDED_REASON, reason)


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="learning.sessions.credentials_after")
def end_sessions_on_credentials_change(sender: type, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """Password changed (by the user, a reset link, staff or ``changepassword``) or account
    deactivated -> every API token of the user deleted at once, ``sessions_ended`` after commit."""
    reason = getattr(instance, _ENDED_REASON, "")
    if reason:
        setattr(instance, _ENDED_REASON, "")
        tokens.tokens_end_all(user_id=instance.pk)
        events.sessions_ended.emit(SessionsEndedPayload(user_id=instance.pk, reason=reason))


__all__ = ["prune_login_sessions", "session_record", "sessions_end_all", "user_sessions"]
