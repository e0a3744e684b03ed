"""StreamField blocks for lesson bodies.

Blocks are written into migrations, so this set is part of core: plugins bring their own page
types rather than adding blocks here.
"""

from __future__ import annotations

from typing import Any

from django.utils.safestring import SafeString, mark_safe
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound
from wagtail import blocks
from wagtail.documents.blocks import DocumentChooserBlock
from wagtail.embeds.blocks import EmbedBlock
from wagtail.embeds.embeds import get_embed_hash
from wagtail.embeds.models import Embed
from wagtail.images.blocks import ImageChooserBlock

CODE_LANGUAGES = [
    ("python", "Python"),
    ("javascript", "JavaScript"),
    ("typescript", "TypeScript"),
    ("html", "HTML"),
    ("css", "CSS"),
    ("bash", "Shell"),
    ("sql", "SQL"),
    ("json", "JSON"),
    ("yaml", "YAML"),
    ("text", "Plain text"),
]

RICH_TEXT_FEATURES = ["bold", "italic", "link", "document-link", "ol", "ul", "code", "blockquote"]


class HeadingBlock(blocks.StructBlock):
    """A section heading; level 2 or 3 keeps the lesson outline valid under the page's h1."""

    text = blocks.CharBlock(max_length=200)
    level = blocks.ChoiceBlock(choices=[("h2", "Section (h2)"), ("h3", "Subsection (h3)")], default="h2")

    class Meta:
        icon = "title"
        template = "courses/blocks/heading.html"


class ImageBlock(blocks.StructBlock):
    """An image with alternative text and an optional caption."""

    image = ImageChooserBlock()
    alt_text = blocks.CharBlock(
        max_length=250, required=False, help_text="Describe the image for screen readers; leave empty to use the image title."
    )
    caption = blocks.CharBlock(max_length=250, required=False)

    class Meta:
        icon = "image"
        template = "courses/blocks/image.html"


class VideoBlock(blocks.StructBlock):
    """An embedded video (YouTube, Vimeo...) with a plain link as fallback."""

    video = EmbedBlock(help_text="A YouTube, Vimeo or other oEmbed video URL.")
    caption = blocks.CharBlock(max_length=250, required=False)

    class Meta:
        icon = "media"
        template = "courses/blocks/video.html"

    def get_context(self, value: Any, parent_context: dict[str, Any] | None = None) -> dict[str, Any]:
        """Add ``embed``: the stored oEmbed of the video, or None (then the template shows a link).

        Rendering never fetches from the network: the embed is fetched and stored once, when an
        editor saves the block (``EmbedBlock`` validates the URL that way), so a page still renders
        at once when the video provider is slow or unreachable.
        """
        context = super().get_context(value, parent_context=parent_context)
        video = value.get("video")
        context["embed"] = stored_embed(video.url) if video else None
        return context


def stored_embed(url: str) -> Embed | None:
    """The oEmbed stored for ``url`` (fetched when the editor saved it), without any fetch."""
    return Embed.objects.filter(hash=get_embed_hash(url)).exclude(html="").first()


class CodeBlock(blocks.StructBlock):
    """Source code, highlighted on the server (no JavaScript needed)."""

    language = blocks.ChoiceBlock(choices=CODE_LANGUAGES, default="python")
    code = blocks.TextBlock()
    caption = blocks.CharBlock(max_length=250, required=False)

    class Meta:
        icon = "code"
        template = "courses/blocks/code.html"

    def get_context(self, value: Any, parent_context: dict[str, Any] | None = None) -> dict[str, Any]:
        """Add the highlighted HTML of the code to the block's template context."""
        context = super().get_context(value, parent_context=parent_context)
        context["highlighted"] = highlight_code(value["code"], value["language"])
        return context


def highlight_code(code: str, language: str) -> SafeString:
    """Return ``code`` as escaped, highlighted HTML (``<span class="…">`` tokens, no wrapper)."""
    try:
        lexer = get_lexer_by_name(language)
    except ClassNotFound:
        lexer = get_lexer_by_name("text")
    formatter = HtmlFormatter(nowrap=True)
    # Pygments escapes the source itself, so its output is safe to mark as such.
    return mark_safe(highlight(code, lexer, formatter))  # noqa: S308


class CalloutBlock(blocks.StructBlock):
    """A highlighted note, tip or warning."""

    kind = blocks.ChoiceBlock(
        choices=[("note", "Note"), ("tip", "Tip"), ("warning", "Warning")], default="note"
    )
    title = blocks.CharBlock(max_length=120, required=False)
    body = blocks.RichTextBlock(features=RICH_TEXT_FEATURES)

    class Meta:
        icon = "warning"
        template = "courses/blocks/callout.html"


class DownloadBlock(blocks.StructBlock):
    """A downloadable document (slides, worksheet, source archive)."""

    document = DocumentChooserBlock()
    title = blocks.CharBlock(max_length=200, required=False, help_text="Defaults to the document title.")
    description = blocks.CharBlock(max_length=250, required=False)

    class Meta:
        icon = "doc-full"
        template = "courses/blocks/download.html"


class LessonBodyBlock(blocks.StreamBlock):
    """The blocks a lesson body is made of."""

    heading = HeadingBlock()
    paragraph = blocks.RichTextBlock(features=RICH_TEXT_FEATURES, icon="pilcrow")
    image = ImageBlock()
    video = VideoBlock()
    code = CodeBlock()
    callout = CalloutBlock()
    download = DownloadBlock()
