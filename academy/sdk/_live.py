"""SDK: live frames: group names and ``publish`` (``realtime``)."""

from __future__ import annotations

from realtime.groups import course as course_group
from realtime.groups import course_staff as course_staff_group
from realtime.groups import user_notifications as user_notifications_group
from realtime.groups import user_progress as user_progress_group
from realtime.publish import current_cursor, publish

__all__ = [
    "course_group",
    "course_staff_group",
    "current_cursor",
    "publish",
    "user_notifications_group",
    "user_progress_group",
]
