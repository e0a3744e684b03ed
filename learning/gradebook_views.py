"""The gradebook's staff screen in the Wagtail admin (a course staff tool, tab "Gradebook"):

- ``/admin/learning/courses/<id>/gradebook/``: learners x graded items with each effective
  grade, late and override marks, the course grade and the result; cohort filter (``?cohort=``),
  sortable by name, course grade or any item (``?sort=name|grade|item-<id>``, ``-`` for
  descending), paginated (``?p=``); ``?export=csv`` / ``?export=xlsx`` download every row with the
  same columns (formula-safe cells, ``learning.admin_views.export_cell``).
- ``.../gradebook/override/`` (POST ``learner``, ``lesson``, ``grade`` (empty clears), ``reason``):
  staff's override of one cell, through ``learning.gradebook.grade_override``.

And the learner's own page, ``/dashboard/grades/`` ("My grades", linked from the dashboard): per
course they learn in, each graded lesson's grade with late and override marks, the course grade
and whether it passes; only their own (``learning.gradebook.learner_gradebook``).

Who may open the staff screen is the access policy's ``may_see_learners``; overriding needs ``may_grade``.
Reads and writes are ``learning.gradebook``'s. Bad input is a 400 page (nothing written),
someone else's course a 403, no such course or cohort a 404.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from io import BytesIO
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST, require_safe
from openpyxl import Workbook

from courses.models import CoursePage, LessonPage
from learning import access, gradebook, services
from learning.admin_views import export_cell
from learning.gradebook import CellState, Grid, GridRow
from learning.models import Cohort
from learning.staff_selectors import learner_name
from learning.views import _parse_id

ROWS_PER_PAGE = 50
# Page numbers beyond this are not served.
MAX_PAGE_NUMBER = 10_000
EXPORT_FORMATS = ("csv", "xlsx")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class BadRequest(Exception):
    """A malformed parameter: answered with a 400 page."""


def _course_for(request: HttpRequest, course_id: int) -> CoursePage:
    course = CoursePage.objects.filter(pk=course_id).first()
    if course is None:
        raise Http404("No such course.")
    if not access.may_see_learners(access.viewer(request.user), course):
        raise PermissionDenied("You may not see the learners of this course.")
    return course


def _cohort(request: HttpRequest, course: CoursePage) -> Cohort | None:
    raw = request.GET.get("cohort", "")
    if not raw:
        return None
    cohort_id = _parse_id(raw)
    if cohort_id is None:
        raise BadRequest("The cohort must be a number.")
    cohort = Cohort.objects.filter(pk=cohort_id, course_id=course.pk).first()
    if cohort is None:
        raise Http404("This course has no such cohort.")
    return cohort


def _page_number(raw: str | None) -> int:
    if not raw:
        return 1
    number = _parse_id(raw)
    if number is None or number > MAX_PAGE_NUMBER:
        raise BadRequest("The page must be a number from 1 to 10000.")
    return number


def _bad(request: HttpRequest, course: CoursePage | None, message: str, status: int = 400) -> HttpResponse:
    return render(request, "learning/admin/gradebook_error.html", {"course": course, "message": message}, status=status)


def item_heading(number: int, item: LessonPage) -> str:
    """An item's column heading: "2. Functions quiz"."""
    return f"{number}. {item.title}"


def columns(items: Sequence[LessonPage]) -> list[str]:
    """The grid's and the exports' columns."""
    return [
        "Learner", "Username", "Email", "Cohort",
        *(item_heading(number, item) for number, item in enumerate(items, start=1)),
        "Course grade", "Result", "Late", "Overridden",
    ]


def export_row(row: GridRow, items: Sequence[LessonPage], *, default_cohort: str = "") -> list[Any]:
    """One learner's cells in the export, in ``columns`` order: the cohort the learner counts in
    (``default_cohort`` for one placed in none), grades as numbers (a missing one that counts is
    0, a pending one empty), late and overridden items by number."""
    numbers = {item.pk: number for number, item in enumerate(items, start=1)}
    user = row.enrollment.user
    cells = [
        0 if cell.state == CellState.MISSING else cell.grade for cell in row.grade.cells
    ]
    return [
        learner_name(user), user.get_username(), user.email, row.enrollment.cohort.name if row.enrollment.cohort else default_cohort,
        *cells, row.grade.percent, row.grade.result,
        ", ".join(str(numbers[i]) for i in row.late_items), ", ".join(str(numbers[i]) for i in row.overridden_items),
    ]


class _Echo:
    def write(self, value: str) -> str:
        return value


def _default_cohort_name(cohorts: Sequence[Cohort]) -> str:
    """The name of the cohort learners placed in none count in (empty when there is none yet)."""
    return next((cohort.name for cohort in cohorts if cohort.is_default), "")


def _export(grid: Grid, course: CoursePage, export_format: str) -> HttpResponse:
    header = columns(grid.items)
    default_cohort = _default_cohort_name(Cohort.objects.filter(course_id=course.pk, is_default=True))
    filename = f"course-{course.pk}-gradebook.{export_format}"
    if export_format == "csv":
        writer = csv.writer(_Echo())

        def lines() -> Iterator[str]:
            yield writer.writerow([export_cell(cell, "csv") for cell in header])
            for row in grid.rows:
                yield writer.writerow([export_cell(cell, "csv") for cell in export_row(row, grid.items, default_cohort=default_cohort)])

        response: HttpResponse = StreamingHttpResponse(lines(), content_type="text/csv")
    else:
        book = Workbook(write_only=True)
        sheet = book.create_sheet("Gradebook")
        sheet.append([export_cell(cell, "xlsx") for cell in header])
        for row in grid.rows:
            sheet.append([export_cell(cell, "xlsx") for cell in export_row(row, grid.items, default_cohort=default_cohort)])
        out = BytesIO()
        book.save(out)
        response = HttpResponse(out.getvalue(), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def gradebook_grid(request: HttpRequest, course_id: int) -> HttpResponse:
    """The grid of one course, or its export."""
    course = _course_for(request, course_id)
    try:
        cohort = _cohort(request, course)
        number = _page_number(request.GET.get("p"))
    except BadRequest as exc:
        return _bad(request, course, str(exc))
    export_format = request.GET.get("export", "")
    if export_format and export_format not in EXPORT_FORMATS:
        return _bad(request, course, "Export as csv or xlsx.")
    who = access.viewer(request.user)
    sort = request.GET.get("sort", "")
    cohort_id = cohort.pk if cohort else None
    if export_format:
        grid = gradebook.course_grid(course=course, who=who, cohort_id=cohort_id, sort=sort)
        return _export(grid, course, export_format)
    grid = gradebook.course_grid(
        course=course, who=who, cohort_id=cohort_id, sort=sort, offset=(number - 1) * ROWS_PER_PAGE,
        limit=ROWS_PER_PAGE,
    )
    pages = max(1, -(-grid.count // ROWS_PER_PAGE))
    if number > pages:
        raise Http404("No such page.")
    current = {"cohort": cohort_id or "", "sort": f"{'-' if grid.descending else ''}{grid.sort}"}

    def link(**changes: Any) -> str:
        return "?" + urlencode({k: v for k, v in {**current, **changes}.items() if v not in ("", None)})

    def sort_link(key: str) -> str:
        descending = grid.sort == key and not grid.descending
        return link(sort=f"{'-' if descending else ''}{key}", p="")

    numbers = {item.pk: n for n, item in enumerate(grid.items, start=1)}
    cohorts = list(Cohort.objects.filter(course_id=course.pk).order_by("-is_default", "starts_on", "name", "pk"))
    return render(request, "learning/admin/gradebook.html", {
        "course": course,
        "grid": grid,
        "headings": [
            {"label": item_heading(n, item), "number": n, "item": item, "sort_url": sort_link(f"item-{item.pk}"),
             "sorted": grid.sort == f"item-{item.pk}"}
            for n, item in enumerate(grid.items, start=1)
        ],
        "rows": [
            {"row": row, "name": learner_name(row.enrollment.user),
             "cells": list(zip(grid.items, row.grade.cells, strict=True)),
             "late": ", ".join(str(numbers[i]) for i in row.late_items),
             "overridden": ", ".join(str(numbers[i]) for i in row.overridden_items)}
            for row in grid.rows
        ],
        "name_sort_url": sort_link("name"),
        "grade_sort_url": sort_link("grade"),
        "cohorts": cohorts,
        "default_cohort": _default_cohort_name(cohorts),
        "cohort": cohort,
        "number": number,
        "pages": pages,
        "previous_url": link(p=number - 1) if number > 1 else "",
        "next_url": link(p=number + 1) if number < pages else "",
        "csv_url": link(export="csv"),
        "xlsx_url": link(export="xlsx"),
        "can_grade": access.may_grade(who, course),
        "override_url": reverse("learning_gradebook:override", args=[course.pk]),
        "back": request.get_full_path(),
        "reason_max": gradebook.REASON_MAX_LENGTH,
    })


@require_POST
def gradebook_override(request: HttpRequest, course_id: int) -> HttpResponse:
    """POST ``learner`` (user id), ``lesson`` (id), ``grade`` (0 to 100; empty clears the
    override) and ``reason``: override one learner's grade on one item, then back to the grid."""
    course = _course_for(request, course_id)
    if not access.may_grade(access.viewer(request.user), course):
        raise PermissionDenied("You may not change grades in this course.")
    learner_id = _parse_id(request.POST.get("learner"))
    lesson_id = _parse_id(request.POST.get("lesson"))
    if learner_id is None or lesson_id is None:
        return _bad(request, course, "Choose a learner and a graded lesson.")
    if lesson_id not in {item.pk for item in gradebook.graded_items(course)}:
        return _bad(request, course, "This lesson is not a graded item of the course.", status=404)
    raw = request.POST.get("grade", "")
    try:
        grade = gradebook.grade_override(
            user=learner_id, lesson=lesson_id, override=raw if raw.strip() else None,
            reason=request.POST.get("reason", ""), by=request.user,
        )
    except services.ServiceError as exc:
        return _bad(request, course, exc.message, status=exc.status_code)
    if grade.override is None:
        messages.success(request, "Override cleared.")
    else:
        messages.success(request, f"Grade set to {gradebook.format_percent(grade.override)}.")
    back = request.POST.get("next", "")
    grid_url = reverse("learning_gradebook:grid", args=[course.pk])
    return redirect(back if back.startswith(grid_url) else grid_url)


@require_safe
@login_required
def my_grades(request: HttpRequest) -> HttpResponse:
    """The learner's own grades, course by course (three queries whatever the number of courses)."""
    return render(request, "learning/my_grades.html", {"courses": gradebook.learner_gradebook(user=request.user)})


urlpatterns = [
    path("courses/<int:course_id>/gradebook/", gradebook_grid, name="grid"),
    path("courses/<int:course_id>/gradebook/override/", gradebook_override, name="override"),
]
