"""Helpers for the discussions tests."""

from __future__ import annotations

from typing import Any

from plugins.discussions import services
from plugins.discussions.models import Post, Thread


def place(user: Any, lesson: Any) -> services.Place:
    """The lesson's place as ``user`` sees it."""
    return services.readable_place(user, lesson_id=lesson.pk)


def ask(user: Any, lesson: Any, title: str = "How do I name variables?", body: str = "Any rules?", kind: str = "question") -> Thread:
    """``user`` asks a question on ``lesson``."""
    return services.thread_create(user=user, place=place(user, lesson), kind=kind, title=title, body=body)


def answer(user: Any, thread: Thread, body: str = "Use snake_case.", **kwargs: Any) -> Post:
    """``user`` replies to ``thread``."""
    found, where = services.thread_for(user, thread.pk)
    return services.reply_create(user=user, thread=found, place=where, body=body, **kwargs)
