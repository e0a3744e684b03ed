"""Model permissions from the shared cache: an authentication backend in front of ModelBackend.

Every page a logged-in user sees asks ``has_perm("wagtailadmin.access_admin")`` (Wagtail's user
bar, ``learning.access.is_privileged``); Django's ``ModelBackend`` answers with two queries per
request (the user's own permissions and their groups'). The profile of a learner's lesson page
showed them as a fifth of its database time. This backend answers from a set kept in the
``default`` cache per user, for one *permission generation*: any change to who holds what (a
user's groups or permissions, a group's permissions, a group or permission deleted) moves the
generation on, now and after commit, so no stale set is ever read.

It sits before ``ModelBackend`` in ``AUTHENTICATION_BACKENDS`` and answers every model
permission question itself: a permission the user holds is granted; one they do not hold raises
``PermissionDenied``, which stops Django from asking ``ModelBackend`` again (Django's documented
way for a backend to give a final "no"). Object permissions (``obj`` given) are left to the
backends after it. It authenticates nobody, so sessions keep naming ``ModelBackend``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from academy.generations import Generation

# Who holds which permission: valid until a group, permission or membership changes.
PERMISSIONS = Generation("perms")
_CACHE_ATTR = "_academy_perm_cache"


def forget_permissions() -> None:
    """Who holds which permission changed: every cached set is stale, now and after commit."""
    PERMISSIONS.bump()


class CachedPermissionBackend(ModelBackend):
    """``ModelBackend``'s model permissions, from the shared cache (see the module docstring)."""

    def authenticate(self, request: Any, username: str | None = None, password: str | None = None,
                     **kwargs: Any) -> None:
        """Never: ``ModelBackend`` (after this one) checks passwords."""
        return None

    def get_user(self, user_id: Any) -> None:
        """Never: sessions name ``ModelBackend``, which loads their user."""
        return None

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        """The user's model permissions (``app_label.codename``), cached per generation."""
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        held = getattr(user_obj, _CACHE_ATTR, None)
        if held is None:
            held = self._shared_permissions(user_obj)
            setattr(user_obj, _CACHE_ATTR, held)
        return held

    def _shared_permissions(self, user_obj: Any) -> set[str]:
        # ModelBackend gives a superuser every permission: a user who stops being one must not
        # keep that set, so the flag is part of the key.
        held = PERMISSIONS.cached(
            "perms", f"{user_obj.pk}:{int(bool(user_obj.is_superuser))}",
            lambda: frozenset(super(CachedPermissionBackend, self).get_all_permissions(user_obj)), frozenset,
        )
        return set(held)

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        """Granted when held; a final "no" (PermissionDenied) for an active user who does not
        hold it; object permissions are left to the next backends."""
        if obj is not None or not user_obj.is_active:
            return False
        if perm in self.get_all_permissions(user_obj):
            return True
        raise PermissionDenied

    def has_module_perms(self, user_obj: Any, app_label: str) -> bool:
        """Whether the user holds any permission of ``app_label`` (a final "no" as above)."""
        if not user_obj.is_active:
            return False
        prefix = f"{app_label}."
        if any(perm.startswith(prefix) for perm in self.get_all_permissions(user_obj)):
            return True
        raise PermissionDenied


def connect_receivers() -> None:
    """Move the permission generation on whenever who holds what changes."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group, Permission
    from django.db.models.signals import m2m_changed, post_delete, post_save

    user_model = get_user_model()

    def on_m2m(sender: type, action: str, **kwargs: Any) -> None:
        if action in {"post_add", "post_remove", "post_clear"}:
            forget_permissions()

    def on_change(sender: type, **kwargs: Any) -> None:
        forget_permissions()

    for through in (user_model.groups.through, user_model.user_permissions.through, Group.permissions.through):
        m2m_changed.connect(on_m2m, sender=through, weak=False, dispatch_uid=f"academy.perms.{through.__name__}")
    for model in (Group, Permission):
        post_save.connect(on_change, sender=model, weak=False, dispatch_uid=f"academy.perms.saved.{model.__name__}")
        post_delete.connect(on_change, sender=model, weak=False, dispatch_uid=f"academy.perms.deleted.{model.__name__}")
