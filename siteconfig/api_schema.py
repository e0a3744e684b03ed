"""OpenAPI schema hooks (drf-spectacular)."""

from __future__ import annotations

from typing import Any

PUBLIC_API_PREFIX = "/api/"


def only_public_api(endpoints: list[tuple[str, str, str, Any]], **kwargs: Any) -> list[tuple[str, str, str, Any]]:
    """Keep the endpoints under /api/; Wagtail's admin API (/admin/api/) is internal."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith(PUBLIC_API_PREFIX)]


def _open(node: Any, enums: set[str]) -> Any:
    """``node`` with every reference to one of ``enums`` made open (see :func:`open_enums`)."""
    if isinstance(node, list):
        return [_open(item, enums) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.rsplit("/", 1)[-1] in enums:
        return {"anyOf": [{"$ref": ref}, {"type": "string", "description": "A value added after this client was made."}]}
    return {key: _open(value, enums) for key, value in node.items()}


def open_enums(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Enums in responses are open: v1 may add values (docs/api.md), so each response property
    typed by an enum reads "one of these, or another string" (``anyOf`` of the enum and a
    string), and a generated client keeps working when a new value (a notification kind, a
    status) appears. Request bodies and query parameters keep their closed enums: the server
    refuses what it does not know."""
    schemas = result.get("components", {}).get("schemas", {})
    enums = {name for name, schema in schemas.items() if "enum" in schema}
    responses = {name for name in schemas if not name.endswith("Request") and name not in enums}
    for name in responses:
        schemas[name] = _open(schemas[name], enums)
    return result
