"""What a plugin that does not run here looks like: refused (with the file and line of its
failure) or excluded. Shared by discovery (settings time) and the registry (once Django's app
registry imports the rest of a plugin); imports nothing of Academy."""

from __future__ import annotations

import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

EXCLUDED_REASON = "left out by ACADEMY_PLUGINS_EXCLUDE"


@dataclass(frozen=True)
class Refusal:
    """A plugin that was found and left out (or switched off after a failure), and why: the
    file and line of the failure when there is one."""

    plugin: str
    reason: str
    file: str = ""
    line: int | None = None

    @property
    def where(self) -> str:
        """``path/to/file.py:12`` (or ``""`` when the failure has no place)."""
        if not self.file:
            return ""
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True)
class Exclusion:
    """A plugin left out by ``ACADEMY_PLUGINS_EXCLUDE``: its name, and its app label when its
    metadata could be read (the name otherwise)."""

    plugin: str
    label: str
    reason: str = EXCLUDED_REASON


def refusal_from(plugin: str, exc: BaseException, *, folders: Iterable[str] = (), what: str = "could not be imported") -> Refusal:
    """A refusal for ``exc`` raised by ``plugin``'s code: the reason, and the file and line where
    it was raised (the deepest frame inside the plugin's ``folders``, the syntax error's own place)."""
    reason = f"{what}: {type(exc).__name__}: {exc}"
    if isinstance(exc, SyntaxError) and exc.filename:
        return Refusal(plugin, reason, exc.filename, exc.lineno)
    frames = traceback.extract_tb(exc.__traceback__)
    roots = [str(Path(folder).resolve()) for folder in folders]
    inside = [f for f in frames if any(str(Path(f.filename).resolve()).startswith(root) for root in roots)]
    frame = (inside or frames or [None])[-1]
    if frame is None:
        return Refusal(plugin, reason)
    return Refusal(plugin, reason, frame.filename, frame.lineno)
