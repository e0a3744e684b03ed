"""An HR sync of 200 people through a client generated from the API's own schema
(openapi-python-client), as an integrator would write it: upsert every person by their HR id,
approve the pending requests of people in the feed, enroll everyone into two cohorts, read the
progress report. At the default limits, nothing is throttled (issue 23: 57 of 200 went through,
then 429 for an hour).

The client is generated from ``/api/schema/`` at test time (so it is the schema of this code)
and calls the app in-process through httpx's WSGI transport, on the test database (the
``generated_client`` fixture and ``generated_api``, tests/learning/api/conftest.py).
"""

from __future__ import annotations

import importlib
import uuid
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission

from academy import ratelimit
from learning import services, tokens
from learning.models import Cohort, Enrollment, ExternalId
from tests.courses.helpers import make_tree
from tests.learning.api.conftest import generated_api

pytestmark = pytest.mark.django_db

PEOPLE = 200
ALREADY_PENDING = 50
BATCH = 100


def hr_token() -> str:
    """A token of the HR team: staff of every course, manages users."""
    user = get_user_model().objects.create_user("hr-team", email="hr@example.com", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Moderators"))
    user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label__in=["learning", "auth"],
        codename__in=["view_enrollment", "change_enrollment", "add_user", "change_user"],
    ))
    return tokens.token_create(user=user, name="hr sync").secret


def test_hr_sync_of_200_people_with_the_generated_client(generated_client: Any) -> None:
    ratelimit.reset()
    tree = make_tree()
    cohorts = [Cohort.objects.create(course=tree.sql, name=name) for name in ("Autumn", "Spring")]
    feed = [{"hr_id": f"HR-{number:04d}", "email": f"person{number}@example.com", "first": "Person", "last": str(number)}
            for number in range(PEOPLE)]
    users = get_user_model().objects
    for person in feed[:ALREADY_PENDING]:  # some had an account and asked for the course already
        services.enrollment_request(user=users.create_user(person["email"], email=person["email"]), course=tree.sql)

    import httpx

    api = importlib.import_module(f"{generated_client.__name__}.api.staff")
    models = importlib.import_module(f"{generated_client.__name__}.models")
    client = generated_api(generated_client, hr_token())
    statuses: list[int] = []

    def call(module: Any, **kwargs: Any) -> Any:
        response = importlib.import_module(f"{api.__name__}.{module}").sync_detailed(client=client, **kwargs)
        statuses.append(response.status_code)
        assert response.status_code < 300, response.content
        return response.parsed

    # 1. Everyone by HR id: created, or linked to the account with their email.
    user_ids = {}
    for person in feed:
        body = models.ExternalUserPutRequest(email=person["email"], first_name=person["first"], last_name=person["last"])
        found = call("users_by_external_id_put", system="hr", external_id=person["hr_id"], body=body)
        user_ids[person["hr_id"]] = found.id
    # 2. Pending requests of people in the feed: approved in one batch.
    pending: list[int] = []
    page = call("course_enrollments_list", course_id=tree.sql.pk, status=models.CourseEnrollmentsListStatus.PENDING_APPROVAL,
                page_size=100)
    while True:
        pending += [row.id for row in page.results if row.user.id in set(user_ids.values())]
        if not page.next_:
            break
        cursor = httpx.URL(page.next_).params["cursor"]
        page = call("course_enrollments_list", course_id=tree.sql.pk,
                    status=models.CourseEnrollmentsListStatus.PENDING_APPROVAL, page_size=100, cursor=cursor)
    approved = call("course_enrollments_approve", course_id=tree.sql.pk, body=models.EnrollmentIdsRequest(enrollment_ids=pending),
                    idempotency_key=str(uuid.uuid4()))
    assert approved.counts.additional_properties == {"approved": ALREADY_PENDING}
    # 3. Everyone into a cohort, a batch of 100 per cohort.
    counts: dict[str, int] = {}
    for cohort, start in zip(cohorts, range(0, PEOPLE, BATCH), strict=True):
        refs = [models.LearnerRefRequest(id=user_ids[person["hr_id"]]) for person in feed[start : start + BATCH]]
        result = call("course_enrollments_create", course_id=tree.sql.pk,
                      body=models.StaffEnrollRequest(users=refs, cohort_id=cohort.pk), idempotency_key=str(uuid.uuid4()))
        for name, number in result.counts.additional_properties.items():
            counts[name] = counts.get(name, 0) + number
    assert counts == {"already": ALREADY_PENDING, "enrolled": PEOPLE - ALREADY_PENDING}
    # 4. The progress report, every row.
    report = call("course_progress_report", course_id=tree.sql.pk, page_size=100)
    assert len(report.results) == 100 and report.next_

    assert all(status < 300 for status in statuses)  # nothing throttled at the default limits
    assert ExternalId.objects.filter(system="hr").count() == PEOPLE
    assert users.filter(email__startswith="person").count() == PEOPLE
    rows = Enrollment.objects.filter(course=tree.sql, user_id__in=user_ids.values())
    assert rows.filter(status="active").count() == PEOPLE
    assert set(rows.values_list("cohort_id", flat=True)) == {cohort.pk for cohort in cohorts}
    assert rows.filter(cohort=cohorts[0]).count() == BATCH
    # The same sync again changes nobody.
    again = call("users_by_external_id_put", system="hr", external_id=feed[0]["hr_id"],
                 body=models.ExternalUserPutRequest(email=feed[0]["email"], first_name="Person", last_name="0"))
    assert again.changed is False
