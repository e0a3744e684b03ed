"""Cursor pagination for every API list: stable under inserts (no page skips or repeats while
lists grow) and one query per page, whatever the list's length."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination as DRFCursorPagination
from rest_framework.request import Request

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


class CursorPagination(DRFCursorPagination):
    """``?cursor=`` from the previous page's ``next``; ``?page_size=`` up to MAX_PAGE_SIZE.

    The order is the view's ``cursor_ordering`` (a unique column: tree path or id).
    """

    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    ordering = "-pk"

    def get_page_size(self, request: Request) -> int:
        """``page_size`` from 1 to MAX_PAGE_SIZE (DRF would silently ignore a bad one: 400 here)."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError({self.page_size_query_param: [f"A whole number from 1 to {self.max_page_size}."]})
        return int(raw)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        """DRF's parameters, with the page size's range."""
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size, default=self.page_size)
        return parameters

    def get_ordering(self, request: Request, queryset: Any, view: Any) -> tuple[str, ...]:
        """The view's ``cursor_ordering``."""
        ordering = getattr(view, "cursor_ordering", self.ordering)
        return (ordering,) if isinstance(ordering, str) else tuple(ordering)
