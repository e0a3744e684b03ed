"""Cursor pagination for every API list: stable under inserts (no page skips or repeats while
lists grow) and one query per page, whatever the list's length."""

from __future__ import annotations

from typing import Any

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

    def get_ordering(self, request: Request, queryset: Any, view: Any) -> tuple[str, ...]:
        """The view's ``cursor_ordering``."""
        ordering = getattr(view, "cursor_ordering", self.ordering)
        return (ordering,) if isinstance(ordering, str) else tuple(ordering)
