"""SDK: the progress shape and its reads (``learning.progress``)."""

from __future__ import annotations

from learning.progress import (
    CourseProgress,
    LessonLink,
    ProgressData,
    course_lesson_ids,
    learner_course_progress,
)

__all__ = ["CourseProgress", "LessonLink", "ProgressData", "course_lesson_ids", "learner_course_progress"]
