"""Channel-layer group names, from this one module only.

Names follow Channels' rules (ASCII letters, digits, ``-``, ``_``, ``.``; under 100 characters).
Each WebSocket stream listens to its own groups, so a client resuming a stream gets only the
stored events of that stream.
"""

from __future__ import annotations

import hashlib

# Stream names as used by the consumers and in the outbox.
PROGRESS = "progress"
NOTIFICATIONS = "notifications"
COURSE = "course"


def user_progress(user_id: int) -> str:
    """A learner's progress stream: progress.updated, enrollment.activated."""
    return f"user.{int(user_id)}.progress"


def user_notifications(user_id: int) -> str:
    """A learner's notification stream: notification.created, notification.read."""
    return f"user.{int(user_id)}.notifications"


def course(course_id: int) -> str:
    """One course's stream (enrolled learners and staff): course.updated, lesson.published."""
    return f"course.{int(course_id)}"


def course_staff(course_id: int) -> str:
    """One course's staff stream (the live class view): class.activity."""
    return f"course.{int(course_id)}.staff"


def lesson_presence(lesson_id: int) -> str:
    """The course-stream sockets viewing one lesson (readers of it): lesson.presence counts."""
    return f"lesson.{int(lesson_id)}.presence"


def course_member(course_id: int, user_id: int) -> str:
    """One learner's sockets on one course stream; told to close when their access ends."""
    return f"course.{int(course_id)}.member.{int(user_id)}"


def user_sessions(user_id: int) -> str:
    """Every socket of one user, whatever its session; told to close when all their sessions end
    (password change, deactivation, "log out everywhere")."""
    return f"user.{int(user_id)}.sessions"


def session(session_key: str) -> str:
    """Every socket opened with one login session; told to close when the session logs out.

    The key is hashed: group names are stored in Redis and the outbox, session keys are secrets.
    """
    digest = hashlib.sha256(session_key.encode()).hexdigest()[:40]
    return f"session.{digest}"
