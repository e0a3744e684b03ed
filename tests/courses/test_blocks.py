"""Every lesson body block renders to accessible HTML, without JavaScript and without the network."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.base import ContentFile
from wagtail.documents import get_document_model
from wagtail.embeds.embeds import get_embed_hash
from wagtail.embeds.models import Embed

from courses.blocks import LessonBodyBlock, highlight_code
from tests.courses.helpers import make_image

BODY = LessonBodyBlock()


def render(block_type: str, value: Any) -> str:
    """Render one block of a lesson body from its stored (JSON) value."""
    stream = BODY.to_python([{"type": block_type, "value": value}])
    return stream[0].render()


def test_heading_block_renders_chosen_level() -> None:
    assert render("heading", {"text": "Setup", "level": "h2"}).strip() == "<h2>Setup</h2>"
    assert render("heading", {"text": "Details", "level": "h3"}).strip() == "<h3>Details</h3>"


def test_paragraph_block_renders_rich_text() -> None:
    html = render("paragraph", "<p>Read <b>carefully</b>.</p>")
    assert html == "<p>Read <b>carefully</b>.</p>"


def test_code_block_is_highlighted_by_pygments_and_escaped() -> None:
    html = render("code", {"language": "python", "code": "def f():\n    return '<b>'", "caption": "f.py"})
    assert '<pre class="highlight" data-language="python" tabindex="0"><code class="language-python">' in html
    assert '<span class="k">def</span>' in html
    assert '<span class="nf">f</span>' in html
    assert """<span class="s1">'&lt;b&gt;'</span>""" in html
    assert "<figcaption>f.py</figcaption>" in html


def test_code_block_with_unknown_language_falls_back_to_plain_text() -> None:
    assert highlight_code("x < 1", "no-such-language") == "x &lt; 1\n"


def test_callout_block_renders_kind_title_and_body() -> None:
    html = render("callout", {"kind": "warning", "title": "Careful", "body": "<p>Back up first.</p>"})
    assert '<aside class="callout callout-warning" role="note" aria-label="Warning">' in html
    assert '<p class="callout-title">Careful</p>' in html
    assert "<p>Back up first.</p>" in html


def test_callout_block_without_title_uses_its_kind() -> None:
    html = render("callout", {"kind": "tip", "title": "", "body": "<p>x</p>"})
    assert '<p class="callout-title">Tip</p>' in html


@pytest.mark.django_db
def test_image_block_renders_rendition_with_alt_text_and_caption() -> None:
    image = make_image("Pyramid", size=(1600, 800))
    html = render("image", {"image": image.pk, "alt_text": "A pyramid of tests", "caption": "Test pyramid"})
    assert 'alt="A pyramid of tests"' in html
    assert 'width="1200" height="600"' in html
    assert 'loading="lazy"' in html
    assert "<figcaption>Test pyramid</figcaption>" in html


@pytest.mark.django_db
def test_image_block_without_alt_text_uses_image_title() -> None:
    image = make_image("Venn diagram")
    assert 'alt="Venn diagram"' in render("image", {"image": image.pk, "alt_text": "", "caption": ""})


@pytest.mark.django_db
def test_download_block_links_the_document_with_type_and_size() -> None:
    document = get_document_model()(title="Cheat sheet", file=ContentFile(b"# Cheat\n" * 100, name="cheat.md"))
    document._set_document_file_metadata()
    document.save()
    html = render("download", {"document": document.pk, "title": "", "description": "One page."})
    assert f'href="/documents/{document.pk}/cheat.md"' in html
    assert "Download Cheat sheet" in html
    assert "MD · 800\xa0bytes" in html
    assert '<p class="muted">One page.</p>' in html


@pytest.mark.django_db
def test_video_block_without_stored_embed_renders_a_link_without_fetching() -> None:
    html = render("video", {"video": "https://video.example.com/watch/42", "caption": "Deploying"})
    assert '<a class="video-link" href="https://video.example.com/watch/42" rel="noopener">' in html
    assert "Deploying" in html
    assert "<iframe" not in html
    assert Embed.objects.count() == 0  # nothing was fetched (a fetch stores its result)


@pytest.mark.django_db
def test_video_block_with_stored_embed_renders_its_player() -> None:
    url = "https://video.example.com/watch/7"
    Embed.objects.create(
        url=url, hash=get_embed_hash(url), type="video", provider_name="ExampleTube",
        html='<iframe src="https://video.example.com/embed/7" title="Talk"></iframe>', width=640, height=360,
    )
    html = render("video", {"video": url, "caption": "A talk"})
    assert '<div class="video-frame"><iframe src="https://video.example.com/embed/7" title="Talk"></iframe></div>' in html
    assert "Watch on ExampleTube" in html
