"""SDK: the gradebook (``learning.gradebook``): report a graded lesson kind's grades, read a
learner's course grade, hear grade changes."""

from __future__ import annotations

from learning.events import GradeChangedPayload, grade_changed
from learning.gradebook import CourseGrade, course_grade_of, format_percent, grade_record

__all__ = ["CourseGrade", "GradeChangedPayload", "course_grade_of", "format_percent", "grade_changed", "grade_record"]
