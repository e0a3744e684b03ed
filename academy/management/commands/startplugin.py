"""``manage.py startplugin NAME [--with form,admin,api,live,lesson-kind]``: a pip-installable
Academy plugin package whose tests pass as written.

It writes ``academy-<name>/`` outside the project: in the current directory, or beside the
project when run from inside it, or in ``--dest``; ``--directory`` names the folder itself. The
package imports core only through ``academy.sdk``, is clean under Academy's ruff rules (its
pyproject carries them, so it stays clean inside a checkout too) and ships a ``conftest.py``, so
``pytest`` in its folder runs its tests against this Academy with a throw-away database and an
in-memory cache, installed or not.

Always: the app and its metadata, a model and its migration, a receiver of ``lesson_completed``,
a page under ``/p/<name>/``, a ``course.sidebar`` fragment, a daily schedule, and tests (the
contract kit and the plugin's own). ``--with`` adds, each with its tests:

- ``form``: a "Cheer this lesson" POST form (CSRF) in the ``lesson.actions`` slot, and its view;
- ``admin``: an admin screen on ``academy.sdk.PluginAdminView`` (activation and the staff rule);
- ``api``: a DRF endpoint under ``/api/v1/p/<name>/`` (the site's DRF defaults apply);
- ``live``: the course page's count updated live (``publish`` on the course's stream, a script);
- ``lesson-kind``: a page type subclassing the core lesson, with a completion gate.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from academy import __version__

SCAFFOLD = Path(__file__).resolve().parents[2] / "plugins" / "scaffold"
NAME = re.compile(r"^[a-z][a-z0-9_]{1,30}$")
OPTIONS = ("form", "admin", "api", "live", "lesson-kind")
# Block markers of the templates, in Python (#), JavaScript (/* */) and Django template ({# #})
# comments, each on its own line: "[with form]" ... "[end]", "[without form]" ... "[end]".
_OPEN = re.compile(r"^\s*(?:#|/\*|\{#)\s*\[(with|without) ([a-z-]+)\]\s*(?:\*/|#\})?\s*$")
_CLOSE = re.compile(r"^\s*(?:#|/\*|\{#)\s*\[end\]\s*(?:\*/|#\})?\s*$")


def render_template(text: str, chosen: set[str]) -> str:
    """``text`` with the blocks of options not ``chosen`` left out and every marker line removed."""
    keep: list[bool] = []
    out: list[str] = []
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        opened = _OPEN.match(line)
        if opened:
            kind, option = opened.groups()
            if option not in OPTIONS:
                raise ValueError(f"line {number}: unknown option {option!r}")
            keep.append((option in chosen) == (kind == "with"))
            continue
        if _CLOSE.match(line):
            if not keep:
                raise ValueError(f"line {number}: [end] without a block")
            keep.pop()
            continue
        if all(keep):
            out.append(line)
    if keep:
        raise ValueError("a block is not closed with [end]")
    return "".join(out)


def parse_options(value: str) -> set[str]:
    """``"form,api"`` -> ``{"form", "api"}``; ``"all"`` is every option."""
    chosen = {part.strip() for part in value.split(",") if part.strip()}
    if chosen == {"all"}:
        return set(OPTIONS)
    unknown = sorted(chosen - set(OPTIONS))
    if unknown:
        raise CommandError(f"Unknown --with option(s): {', '.join(unknown)} (choose from {', '.join(OPTIONS)}, or all).")
    return chosen


def inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or below it."""
    return path == folder or folder in path.parents


class Command(BaseCommand):
    """Scaffold a plugin package."""

    help = "Create a pip-installable Academy plugin package, with tests, outside the project."

    def add_arguments(self, parser: CommandParser) -> None:
        """``name``, ``--with`` and where to write it."""
        parser.add_argument("name", help="The plugin's label: lowercase letters, digits and _ (e.g. 'badges').")
        parser.add_argument(
            "--with", dest="with_options", default="",
            help=f"Comma-separated extras: {', '.join(OPTIONS)} (or all).",
        )
        parser.add_argument(
            "--dest", help="The folder to create academy-<name>/ in (default: here, or beside the project when run inside it)."
        )
        parser.add_argument("--directory", help="The package folder itself (instead of --dest/academy-<name>).")
        parser.add_argument("--author", default="Your name", help="Author shown in the admin.")

    def handle(
        self, *args: Any, name: str, with_options: str, dest: str | None, directory: str | None, author: str,
        **options: Any,
    ) -> None:
        """Write the package; refuse a bad name, an unknown option or a non-empty folder."""
        if not NAME.match(name) or keyword.iskeyword(name):
            raise CommandError("The name must be 2-31 lowercase letters, digits or _, starting with a letter.")
        from django.apps import apps

        if name in {config.label for config in apps.get_app_configs()}:
            raise CommandError(f"An installed app is already labelled {name!r}: choose another name.")
        chosen = parse_options(with_options)
        dist = f"academy-{name.replace('_', '-')}"
        target = self.target(dist, dest=dest, directory=directory)
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise CommandError(f"{target} exists and is not empty.")
        package = f"academy_{name}"
        replacements = {
            "__PACKAGE__": package,
            "__LABEL__": name,
            "__CLASS__": "".join(part.capitalize() for part in name.split("_")),
            "__TITLE__": name.replace("_", " ").capitalize(),
            "__DIST__": dist,
            "__AUTHOR__": author.replace('"', "'").replace("\\", ""),
            "__CORE__": ".".join(__version__.split(".")[:2]),
            "__OPTIONS__": f"--with {','.join(o for o in OPTIONS if o in chosen)}" if chosen else "no extras",
        }
        written = []
        for source in sorted(SCAFFOLD.rglob("*-tpl")):
            relative = source.relative_to(SCAFFOLD).as_posix()[: -len("-tpl")]
            relative = re.sub(r"^package/", f"{package}/", relative)
            relative = relative.replace("templates/package/", f"templates/{package}/")
            relative = relative.replace("static/package/", f"static/{package}/")
            raw = source.read_text()
            text = render_template(raw, chosen)
            if raw.strip() and not text.strip():
                continue  # a file of an option not chosen
            for token, value in replacements.items():
                text = text.replace(token, value)
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_text(text)
            written.append(relative)
        self.stdout.write(self.style.SUCCESS(f"Plugin {name!r} written to {target} ({len(written)} files)."))
        self.stdout.write(
            "Next:\n"
            f"  cd {target} && pytest          (its tests, against this Academy; nothing to install)\n"
            f"  pip install -e {target}\n"
            "  python manage.py migrate && python manage.py setup_schedules\n"
            "  restart Academy (make run): it is under Settings > Plugins and on each course's Plugins button"
        )

    def target(self, dist: str, *, dest: str | None, directory: str | None) -> Path:
        """Where the package goes: ``--directory``, else ``--dest/<dist>``, else ``./<dist>``
        outside the project, or ``<project's parent>/<dist>`` when run inside the project."""
        if directory:
            return Path(directory).resolve()
        if dest:
            return Path(dest).resolve() / dist
        here, project = Path.cwd().resolve(), Path(settings.BASE_DIR).resolve()
        if inside(here, project):
            self.stdout.write(f"Writing outside the project ({project}): use --dest to choose the folder.")
            return project.parent / dist
        return here / dist
