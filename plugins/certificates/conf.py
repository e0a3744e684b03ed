"""Settings of the certificates plugin (environment variables; defaults when unset).

- ``ACADEMY_CERTIFICATES_FONT`` / ``ACADEMY_CERTIFICATES_FONT_BOLD``: TrueType files for the PDF.
  Default: Bitstream Vera, shipped inside reportlab (Latin alphabets of Western Europe). Point
  them at a font with wider coverage (e.g. DejaVu Sans) for names in other scripts.
- ``ACADEMY_LIMIT_CERTIFICATE_VERIFY``: verify-page lookups per client address (``60/h``).
- ``ACADEMY_CERTIFICATES_RENDER_STALL_SECONDS``: a certificate still without its PDF this long
  after its last change is rendered again by the ``render_pending_certificates`` schedule.
"""

from __future__ import annotations

from pathlib import Path

import reportlab
from django.conf import settings

from academy.sdk import env_int, env_rate, env_str

_REPORTLAB_FONTS = Path(reportlab.__file__).resolve().parent / "fonts"
DEFAULT_FONT = _REPORTLAB_FONTS / "Vera.ttf"
DEFAULT_FONT_BOLD = _REPORTLAB_FONTS / "VeraBd.ttf"
DEFAULT_TITLE_LINE = "Certificate of Completion"


def font_paths() -> tuple[Path, Path]:
    """The regular and bold TrueType files used for certificates."""
    regular = env_str("ACADEMY_CERTIFICATES_FONT") or str(DEFAULT_FONT)
    bold = env_str("ACADEMY_CERTIFICATES_FONT_BOLD") or env_str("ACADEMY_CERTIFICATES_FONT") or str(DEFAULT_FONT_BOLD)
    return Path(regular), Path(bold)


def verify_rate() -> str:
    """The verify page's limit per client address (a rate such as ``60/h``)."""
    return getattr(settings, "CERTIFICATES_VERIFY_RATE", None) or env_rate("ACADEMY_LIMIT_CERTIFICATE_VERIFY", "60/h")


def render_stall_seconds() -> int:
    """How long a certificate may wait for its PDF before the schedule renders it again."""
    return env_int("ACADEMY_CERTIFICATES_RENDER_STALL_SECONDS", 600)
