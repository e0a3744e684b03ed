"""Cursor pagination for every API list: stable under inserts (no page skips or repeats while
lists grow) and one query per page, whatever the list's length.

A cursor comes from the client, so it is input like any other: one that does not decode, or
whose position is not a value of the ordering column (text for an id, a number out of the
column's range, a NUL character, anything but a tree path for pages), is a 400 on ``cursor`` before any query runs."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Field, QuerySet
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor
from rest_framework.pagination import CursorPagination as DRFCursorPagination
from rest_framework.request import Request

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
# The schema's name for the cursor's string format: opaque, made by the server.
CURSOR_FORMAT = "cursor"
CURSOR_DESCRIPTION = "The cursor of the previous page's next or previous link (opaque); any other value is a 400."
INVALID_CURSOR_MESSAGE = "This cursor is not valid: follow the list's next or previous link."


def _tree_path_pattern(model: Any) -> re.Pattern[str] | None:
    """A tree path of ``model`` (treebeard's materialised path: ``steplen`` characters of its
    ``alphabet`` per level, as Wagtail pages have), or None for a model that is no tree."""
    steplen, alphabet = getattr(model, "steplen", None), getattr(model, "alphabet", None)
    if not steplen or not alphabet:
        return None
    return re.compile(f"(?:[{re.escape(alphabet)}]{{{steplen}}})+")


class CursorPagination(DRFCursorPagination):
    """``?cursor=`` from the previous page's ``next``; ``?page_size=`` up to MAX_PAGE_SIZE.

    The order is the view's ``cursor_ordering`` (a unique column: tree path or id).
    """

    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    ordering = "-pk"
    invalid_cursor_message = INVALID_CURSOR_MESSAGE
    _position_field: Field | None = None
    _tree_path: re.Pattern[str] | None = None

    def paginate_queryset(self, queryset: QuerySet[Any], request: Request, view: Any = None) -> list[Any] | None:
        """DRF's, remembering the ordering column so that the cursor's position is checked
        against it."""
        ordering = self.get_ordering(request, queryset, view)
        name = ordering[0].lstrip("-")
        meta = queryset.model._meta
        self._position_field = meta.pk if name == "pk" else meta.get_field(name)
        self._tree_path = _tree_path_pattern(queryset.model) if name == "path" else None
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request: Request) -> Cursor | None:
        """DRF's cursor, or a 400 (``fields.cursor``) when it does not decode (DRF: a 404) or its
        position is no value of the ordering column (DRF: a 500 from the database)."""
        try:
            cursor = super().decode_cursor(request)
        except NotFound as exc:
            raise self._invalid() from exc
        if cursor is None or cursor.position is None or self._position_field is None:
            return cursor
        try:
            value = self._position_field.clean(cursor.position, None)
        except DjangoValidationError as exc:
            raise self._invalid() from exc
        if isinstance(value, str) and "\x00" in value:
            raise self._invalid()
        if self._tree_path is not None and not self._tree_path.fullmatch(str(value)):
            raise self._invalid()
        return cursor

    def _invalid(self) -> ValidationError:
        return ValidationError({self.cursor_query_param: [self.invalid_cursor_message]})

    def get_page_size(self, request: Request) -> int:
        """``page_size`` from 1 to MAX_PAGE_SIZE (DRF would silently ignore a bad one: 400 here)."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError({self.page_size_query_param: [f"A whole number from 1 to {self.max_page_size}."]})
        return int(raw)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        """DRF's parameters, with the page size's range and the cursor's format."""
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size, default=self.page_size)
            if parameter["name"] == self.cursor_query_param:
                parameter["schema"]["format"] = CURSOR_FORMAT
                parameter["description"] = CURSOR_DESCRIPTION
        return parameters

    def get_ordering(self, request: Request, queryset: Any, view: Any) -> tuple[str, ...]:
        """The view's ``cursor_ordering``."""
        ordering = getattr(view, "cursor_ordering", self.ordering)
        return (ordering,) if isinstance(ordering, str) else tuple(ordering)
