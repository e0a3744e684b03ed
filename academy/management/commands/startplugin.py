"""``manage.py startplugin <name>``: a pip-installable Academy plugin package, ready to run.

It writes ``academy-<name>/`` (or ``--directory``): a pyproject with the ``academy.plugins``
entry point, the Django app ``academy_<name>`` (metadata, a model and its migration, a receiver,
a page under ``/p/<name>/``, a template-slot fragment, a daily schedule) and a test that runs
Academy's contract kit. Then ``pip install -e academy-<name>``, ``manage.py migrate`` and a
restart, and it shows up (docs/plugins.md).
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from academy import __version__

SCAFFOLD = Path(__file__).resolve().parents[2] / "plugins" / "scaffold"
NAME = re.compile(r"^[a-z][a-z0-9_]{1,30}$")


class Command(BaseCommand):
    """Scaffold a plugin package."""

    help = "Create a pip-installable Academy plugin package with an app, a receiver, a URL, a slot, a schedule and a test."

    def add_arguments(self, parser: CommandParser) -> None:
        """``name`` and where to write it."""
        parser.add_argument("name", help="The plugin's label: lowercase letters, digits and _ (e.g. 'badges').")
        parser.add_argument("--directory", help="Where to write the package (default: ./academy-<name>).")
        parser.add_argument("--author", default="Your name", help="Author shown in the admin.")

    def handle(self, *args: Any, name: str, directory: str | None, author: str, **options: Any) -> None:
        """Write the package; refuse a bad name or an existing folder."""
        if not NAME.match(name) or keyword.iskeyword(name):
            raise CommandError("The name must be 2-31 lowercase letters, digits or _, starting with a letter.")
        from django.apps import apps

        if name in {config.label for config in apps.get_app_configs()}:
            raise CommandError(f"An installed app is already labelled {name!r}: choose another name.")
        package = f"academy_{name}"
        target = Path(directory or f"academy-{name.replace('_', '-')}").resolve()
        if target.exists() and any(target.iterdir()):
            raise CommandError(f"{target} exists and is not empty.")
        core = ".".join(__version__.split(".")[:2])
        replacements = {
            "__PACKAGE__": package,
            "__LABEL__": name,
            "__CLASS__": "".join(part.capitalize() for part in name.split("_")),
            "__TITLE__": name.replace("_", " ").capitalize(),
            "__DIST__": f"academy-{name.replace('_', '-')}",
            "__AUTHOR__": author.replace('"', "'"),
            "__CORE__": core,
        }
        written = []
        for source in sorted(SCAFFOLD.rglob("*-tpl")):
            relative = source.relative_to(SCAFFOLD).as_posix()[: -len("-tpl")]
            relative = re.sub(r"^package/", f"{package}/", relative).replace("templates/package/", f"templates/{package}/")
            text = source.read_text()
            for token, value in replacements.items():
                text = text.replace(token, value)
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_text(text)
            written.append(relative)
        self.stdout.write(self.style.SUCCESS(f"Plugin {name!r} written to {target} ({len(written)} files)."))
        self.stdout.write(
            "Next:\n"
            f"  pip install -e {target}\n"
            "  python manage.py migrate\n"
            "  restart Academy (make run): it is under Settings > Plugins and on each course's Plugins button\n"
            f"  cd {target} && python -m pytest"
        )
