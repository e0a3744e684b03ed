"""Markdown to sanitised HTML for posts: markdown-it-py (raw HTML off) then nh3 (an allow-list).

Two layers: markdown-it-py never passes raw HTML through (``html`` off), and nh3 (ammonia) keeps
only the tags and attributes below, only http(s)/mailto links (a ``javascript:`` link loses its
``href``), no ``style``, no ``on*`` handlers, and adds ``rel="noopener noreferrer nofollow"``.
Nothing a learner writes can run script; the strict CSP is a third layer.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a",
    "h3", "h4", "h5", "h6", "del", "table", "thead", "tbody", "tr", "th", "td",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}
MAX_BODY = 20_000

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table").enable("strikethrough")


def render(text: str) -> str:
    """``text`` (Markdown) as HTML safe to put in a page as is."""
    html = _md.render(text or "")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
