"""SDK: public URLs and safe redirects."""

from __future__ import annotations

from academy.email import absolute_url
from learning.accounts import safe_next_url

__all__ = ["absolute_url", "safe_next_url"]
