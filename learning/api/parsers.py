"""The API's JSON body parser: DRF's, with a depth limit.

Python's JSON decoder recurses once per level, so a body of a few thousand ``[`` raises
RecursionError (which DRF's parser lets through: a 500). No API body needs more than a few
levels, so anything deeper than ``MAX_JSON_DEPTH`` is a 400 ``parse_error`` before any field is
validated (validators that recurse never see it).
"""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# Levels of arrays and objects a body may nest (``{"ids": [1]}`` is 2 deep).
MAX_JSON_DEPTH = 32


def json_depth_exceeds(data: Any, limit: int) -> bool:
    """Whether ``data`` (parsed JSON) nests arrays and objects more than ``limit`` levels deep.
    Iterative, so it cannot overflow the stack itself; stops at the first level too deep."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser; a body nested deeper than ``MAX_JSON_DEPTH`` is a ParseError (400)."""

    too_deep_message = f"JSON nested more than {MAX_JSON_DEPTH} levels deep."

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        """The parsed body, or ParseError for malformed or too deeply nested JSON."""
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(self.too_deep_message) from exc
        if json_depth_exceeds(data, MAX_JSON_DEPTH):
            raise ParseError(self.too_deep_message)
        return data
