"""SDK: the content and learning models a plugin reads, and the lesson kinds registry."""

from __future__ import annotations

from courses.lesson_kinds import kind_is_active, lesson_kinds, of_active_kinds
from courses.models import CourseIndexPage, CoursePage, LessonPage
from learning.models import Enrollment, Notification

__all__ = [
    "CourseIndexPage",
    "CoursePage",
    "Enrollment",
    "LessonPage",
    "Notification",
    "kind_is_active",
    "lesson_kinds",
    "of_active_kinds",
]
