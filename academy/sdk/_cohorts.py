"""SDK: cohorts, the runs of a course (``learning.cohorts``): a course's default cohort, the
cohort a learner is in, and the filter on enrollments keeping one cohort's learners."""

from __future__ import annotations

from learning.cohorts import cohort_enrollment_filter, cohort_of, default_cohort
from learning.models import Cohort

__all__ = ["Cohort", "cohort_enrollment_filter", "cohort_of", "default_cohort"]
