"""The "Cohorts" course staff tool in the Wagtail admin (/admin/learning/courses/<id>/cohorts/):
the course's cohorts with their dates and learners counted, forms to create, edit and delete
them, and the course's teachers and assistants, given and taken by username or email.

Who may open it: ``access.may_see_learners`` (a teacher or assistant of some cohorts sees those);
cohort forms need ``access.may_manage_cohorts``, role forms ``access.may_manage_course_staff``.
Every write goes through ``learning.cohorts``; a refused one is a message (or a 400 form), never
a 500.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from courses.models import CoursePage
from learning import access, cohorts, services
from learning.models import Cohort, CourseRole
from learning.staff_views import _course_for


class CohortForm(forms.Form):
    """A cohort's name and dates (and whether self-enrollment places learners there)."""

    name = forms.CharField(max_length=cohorts.NAME_MAX)
    starts_on = forms.DateField(required=False, label="Starts on", widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(required=False, label="Ends on", widget=forms.DateInput(attrs={"type": "date"}))
    is_default = forms.BooleanField(required=False, label="Self-enrollment places learners here")

    def clean(self) -> dict[str, Any]:
        """The end is not before the start."""
        data = super().clean()
        starts_on, ends_on = data.get("starts_on"), data.get("ends_on")
        if starts_on and ends_on and ends_on < starts_on:
            raise forms.ValidationError("A cohort cannot end before it starts.")
        return data


def _urls(course_id: int) -> dict[str, str]:
    return {
        name: reverse(f"learning_cohorts:{name}", args=[course_id])
        for name in ("cohorts", "cohort_add", "role_add")
    }


def _managed_course(request: HttpRequest, course_id: int, rule: Any) -> CoursePage:
    course = _course_for(request, course_id)
    if not rule(access.viewer(request.user), course):
        raise PermissionDenied("You may not change the cohorts or staff of this course.")
    return course


def cohort_list(request: HttpRequest, course_id: int, *, form: CohortForm | None = None, status: int = 200) -> HttpResponse:
    """The cohorts (with learners counted), the staff roles and the forms for those who may use them."""
    course = _course_for(request, course_id)
    who = access.viewer(request.user)
    visible = access.staff_cohort_ids(who, course)
    return render(request, "learning/admin/course_cohorts.html", {
        "course": course,
        "summaries": cohorts.cohort_summaries(course=course, visible=visible),
        "staff": cohorts.course_staff(course=course),
        "all_cohorts": cohorts.course_cohorts(course=course),
        "can_manage_cohorts": access.may_manage_cohorts(who, course),
        "can_manage_staff": access.may_manage_course_staff(who, course),
        "form": form or CohortForm(),
        "roles": CourseRole.Role.choices,
        "urls": _urls(course.pk),
    }, status=status)


def _cohort_of(course: CoursePage, cohort_id: int) -> Cohort:
    cohort = Cohort.objects.filter(pk=cohort_id, course_id=course.pk).first()
    if cohort is None:
        raise Http404("No such cohort in this course.")
    return cohort


@require_POST
def cohort_add(request: HttpRequest, course_id: int) -> HttpResponse:
    """Create a cohort (``cohorts.cohort_create``)."""
    course = _managed_course(request, course_id, access.may_manage_cohorts)
    form = CohortForm(request.POST)
    if not form.is_valid():
        return cohort_list(request, course.pk, form=form, status=400)
    try:
        cohort = cohorts.cohort_create(course=course, by=request.user, **form.cleaned_data)
    except services.ServiceError as exc:
        form.add_error(None, exc.message)
        return cohort_list(request, course.pk, form=form, status=exc.status_code)
    messages.success(request, f"Cohort “{cohort.name}” created.")
    return redirect(_urls(course.pk)["cohorts"])


def cohort_edit(request: HttpRequest, course_id: int, cohort_id: int) -> HttpResponse:
    """Edit a cohort's name and dates (GET: the form; POST: ``cohorts.cohort_update``)."""
    course = _managed_course(request, course_id, access.may_manage_cohorts)
    cohort = _cohort_of(course, cohort_id)
    status = 200
    if request.method == "POST":
        form = CohortForm(request.POST)
        if form.is_valid():
            try:
                cohorts.cohort_update(cohort=cohort.pk, by=request.user, **form.cleaned_data)
            except services.ServiceError as exc:
                form.add_error(None, exc.message)
                status = exc.status_code
            else:
                messages.success(request, f"Cohort “{form.cleaned_data['name']}” saved.")
                return redirect(_urls(course.pk)["cohorts"])
        else:
            status = 400
    else:
        form = CohortForm(initial={
            "name": cohort.name, "starts_on": cohort.starts_on, "ends_on": cohort.ends_on, "is_default": cohort.is_default,
        })
    return render(request, "learning/admin/cohort_edit.html", {
        "course": course, "cohort": cohort, "form": form, "urls": _urls(course.pk),
    }, status=status)


@require_POST
def cohort_delete(request: HttpRequest, course_id: int, cohort_id: int) -> HttpResponse:
    """Delete a cohort without learners (``cohorts.cohort_delete``; one with learners: a message)."""
    course = _managed_course(request, course_id, access.may_manage_cohorts)
    cohort = _cohort_of(course, cohort_id)
    try:
        cohorts.cohort_delete(cohort=cohort.pk, by=request.user)
    except services.ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Cohort “{cohort.name}” deleted.")
    return redirect(_urls(course.pk)["cohorts"])


@require_POST
def role_add(request: HttpRequest, course_id: int) -> HttpResponse:
    """Give a user (by username or email) the teacher or assistant role (``cohorts.role_grant``)."""
    course = _managed_course(request, course_id, access.may_manage_course_staff)
    identifier = (request.POST.get("user") or "").strip()[:254]
    found = list(get_user_model().objects.filter(Q(username__iexact=identifier) | Q(email__iexact=identifier))[:2]) \
        if identifier else []
    back = _urls(course.pk)["cohorts"]
    if len(found) != 1:
        messages.error(request, f"No single user has the username or email “{identifier}”." if identifier
                       else "Type a username or an email address.")
        return redirect(back)
    raw_cohort = request.POST.get("cohort", "")
    try:
        cohort = int(raw_cohort) if raw_cohort else None
    except ValueError:
        cohort = -1  # refused by the service as a cohort of no course
    try:
        role, created = cohorts.role_grant(
            course=course, user=found[0], role=request.POST.get("role", ""), by=request.user, cohort=cohort
        )
    except services.ServiceError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    where = f"cohort “{role.cohort.name}”" if role.cohort else "every cohort"
    messages.success(request, f"{found[0].get_username()} is {'now' if created else 'still'} "
                              f"{role.get_role_display().lower()} of {course.title} ({where}).")
    return redirect(back)


@require_POST
def role_remove(request: HttpRequest, course_id: int, role_id: int) -> HttpResponse:
    """Take a role back (``cohorts.role_revoke``)."""
    course = _managed_course(request, course_id, access.may_manage_course_staff)
    role = CourseRole.objects.select_related("user").filter(pk=role_id, course_id=course.pk).first()
    if role is None:
        raise Http404("No such role in this course.")
    try:
        cohorts.role_revoke(role=role.pk, by=request.user)
    except services.ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{role.user.get_username()} is no longer {role.get_role_display().lower()} here.")
    return redirect(_urls(course.pk)["cohorts"])


def teaching(request: HttpRequest) -> HttpResponse:
    """The courses whose learners the user may see as staff (page permissions or a role), with
    their staff tools: where teachers and assistants without page permissions start."""
    from learning import staff_links

    who = access.viewer(request.user)
    courses = CoursePage.objects.filter(access.staff_course_filter(who, prefix="")).order_by("title", "pk")
    return render(request, "learning/admin/teaching.html", {
        "courses": [(course, staff_links.course_links(course, request.user)) for course in courses],
        "roles": {grant.course_id: grant for grant in access.course_roles(who)},
    })


urlpatterns = [
    path("courses/", teaching, name="teaching"),
    path("courses/<int:course_id>/cohorts/", cohort_list, name="cohorts"),
    path("courses/<int:course_id>/cohorts/add/", cohort_add, name="cohort_add"),
    path("courses/<int:course_id>/cohorts/<int:cohort_id>/", cohort_edit, name="cohort_edit"),
    path("courses/<int:course_id>/cohorts/<int:cohort_id>/delete/", cohort_delete, name="cohort_delete"),
    path("courses/<int:course_id>/staff/add/", role_add, name="role_add"),
    path("courses/<int:course_id>/staff/<int:role_id>/remove/", role_remove, name="role_remove"),
]
