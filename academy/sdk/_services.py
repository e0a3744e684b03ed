"""SDK: the learning services a plugin may call, and their typed errors (``learning.services``)."""

from __future__ import annotations

from learning.services import (
    Conflict,
    Forbidden,
    InvalidInput,
    LessonNotAvailable,
    LessonNotOpen,
    LessonRestricted,
    NotEnrolled,
    NotFound,
    ProgressResult,
    RateLimited,
    ServiceError,
    lesson_progress_record,
    lesson_require_open,
    notification_create,
)

__all__ = [
    "Conflict",
    "Forbidden",
    "InvalidInput",
    "LessonNotAvailable",
    "LessonNotOpen",
    "LessonRestricted",
    "NotEnrolled",
    "NotFound",
    "ProgressResult",
    "RateLimited",
    "ServiceError",
    "lesson_progress_record",
    "lesson_require_open",
    "notification_create",
]
