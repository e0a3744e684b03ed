"""The learning core's part of the demo site (``manage.py seed_demo``, through the
``courses.demo_content.SEED_DEMO_HOOK`` hook): the demo course's cohorts and, with the demo
accounts, its teacher and assistant. Safe to run any number of times."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from courses import demo_content as demo
from courses.models import CoursePage
from learning.cohorts import course_staff_group, default_cohort
from learning.models import Cohort, CourseRole


def seed_demo(*, catalog: Any, accounts: bool) -> Iterator[tuple[str, str]]:
    """The demo course's default cohort and ``demo.DEMO_COHORTS`` (dates counted from the day
    they are first made; a later run leaves them, and any an editor changed, as they are); with
    ``accounts``, the demo ``teacher`` (whole course) and ``assistant`` (one cohort) roles and
    the course staff group that gives them the admin. Yields ``(kind, status)`` per object."""
    course = CoursePage.objects.child_of(catalog).filter(slug=demo.COURSES[0].slug).first()
    if course is None:
        return
    today = timezone.localdate()
    made: dict[str, Cohort] = {"default": default_cohort(course)}
    for name, start, end in demo.DEMO_COHORTS:
        cohort, created = Cohort.objects.get_or_create(
            course=course, name=name,
            defaults={"starts_on": today + timedelta(days=start),
                      "ends_on": today + timedelta(days=end) if end is not None else None},
        )
        made[name] = cohort
        yield "cohorts", "created" if created else "unchanged"
    if not accounts:
        return
    group = course_staff_group()
    users = get_user_model().objects
    for username, cohort in (("teacher", None), ("assistant", made[demo.DEMO_ASSISTANT_COHORT])):
        user = users.filter(username=username).first()
        if user is None:
            continue
        _role, created = CourseRole.objects.get_or_create(
            user=user, course=course, cohort=cohort, defaults={"role": username},
        )
        user.groups.add(group)
        yield "roles", "created" if created else "unchanged"
