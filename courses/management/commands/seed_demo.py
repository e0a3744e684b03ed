"""``manage.py seed_demo``: build (or bring up to date) the demo site. Safe to run any number of times.

Everything is looked up by a stable identity (page slug under its parent, image and document
title, instructor name, group name) and updated in place, so a second run changes nothing and
creates no duplicates. Pictures are drawn with Pillow once and reused. Page changes go through
Wagtail revisions, so the admin's history, preview and publishing keep working on demo pages.
The demo course gets two cohorts besides its default one ("Spring", started; "Autumn", later).
When ``DEBUG`` is on (the embedded demo) it also creates the demo accounts admin/admin,
editor/editor, learner/learner, teacher/teacher (teacher of the demo course) and
assistant/assistant (assistant in its Spring cohort); never in production.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.core.files.images import ImageFile
from django.core.management.base import BaseCommand
from django.db import transaction
from PIL import Image as PILImage
from PIL import ImageChops, ImageDraw, ImageFont
from wagtail import hooks
from wagtail.documents import get_document_model
from wagtail.images import get_image_model
from wagtail.models import Collection, GroupCollectionPermission, GroupPagePermission, Page, Site
from wagtail.search import index

from academy.plugins.registry import contribution, plugins
from courses import demo_content as demo
from courses.models import CourseIndexPage, CoursePage, HomePage, Instructor, LessonPage

EDITORS_GROUP = "Editors"
# Page permissions the Editors group holds on the catalog (and so on every course and lesson).
EDITOR_PAGE_PERMISSIONS = ["add_page", "change_page", "publish_page", "lock_page", "unlock_page"]
# Image and document permissions the Editors group holds on the root collection.
EDITOR_COLLECTION_PERMISSIONS = {
    "wagtailimages": ["add_image", "change_image", "choose_image"],
    "wagtaildocs": ["add_document", "change_document", "choose_document"],
}
EDITOR_SNIPPET_PERMISSIONS = ["add_instructor", "change_instructor", "delete_instructor", "view_instructor"]
# Editors also approve paid enrollments and read progress reports (the admin's Learning menu).
EDITOR_LEARNING_PERMISSIONS = ["view_enrollment", "change_enrollment", "view_courseprogressreport"]
# (username, password, role) of the accounts made only when DEBUG is on; the production system
# check (siteconfig/checks.py) refuses to run while one of them keeps its demo password.
DEMO_ACCOUNTS = demo.DEMO_ACCOUNTS

COVER_SIZE = (1200, 675)
AVATAR_SIZE = (256, 256)
DIAGRAM_SIZE = (1200, 600)
JPEG_QUALITY = 88
FONT_CANDIDATES = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
]
DIAGRAM_INK = "#1d2330"
DIAGRAM_BACKGROUND = "#f6f7fb"


# --- Pictures ---------------------------------------------------------------------------------


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A bold sans-serif font; Pillow's bundled one when the system has none."""
    for candidate in FONT_CANDIDATES:
        if Path(candidate).exists():
            return ImageFont.truetype(candidate, size)
    return ImageFont.load_default(size=size)


def _gradient(size: tuple[int, int], colors: tuple[str, str]) -> PILImage.Image:
    """A diagonal gradient from the top-left colour to the bottom-right one."""
    vertical = PILImage.linear_gradient("L").resize(size)
    horizontal = PILImage.linear_gradient("L").rotate(90).transpose(PILImage.Transpose.FLIP_LEFT_RIGHT).resize(size)
    mask = ImageChops.add(vertical, horizontal, scale=2)
    return PILImage.composite(PILImage.new("RGB", size, colors[1]), PILImage.new("RGB", size, colors[0]), mask)


def _centered_text(
    draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], text: str, size: int, fill: str | tuple[int, ...]
) -> None:
    font = _font(size)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = box[0] + (box[2] - box[0] - (right - left)) / 2 - left
    y = box[1] + (box[3] - box[1] - (bottom - top)) / 2 - top
    draw.text((x, y), text, font=font, fill=fill)


def _jpeg(picture: PILImage.Image) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return buffer.getvalue()


def _png(picture: PILImage.Image) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def draw_cover(initials: str, colors: tuple[str, str]) -> bytes:
    """A course cover: a gradient with soft circles and the course's initials (JPEG bytes)."""
    width, height = COVER_SIZE
    picture = _gradient(COVER_SIZE, colors).convert("RGBA")
    overlay = PILImage.new("RGBA", COVER_SIZE, (0, 0, 0, 0))
    shapes = ImageDraw.Draw(overlay)
    shapes.ellipse((width * 0.62, -height * 0.35, width * 1.25, height * 0.75), fill=(255, 255, 255, 38))
    shapes.ellipse((-width * 0.15, height * 0.55, width * 0.35, height * 1.4), fill=(255, 255, 255, 28))
    shapes.ellipse((width * 0.08, height * 0.1, width * 0.16, height * 0.24), fill=(255, 255, 255, 50))
    # A soft shadow under the letters keeps them legible on the light end of the gradient.
    _centered_text(shapes, (0, 8, width, height + 8), initials, 250, (0, 0, 0, 46))
    picture = PILImage.alpha_composite(picture, overlay).convert("RGB")
    _centered_text(ImageDraw.Draw(picture), (0, 0, width, height), initials, 250, "#ffffff")
    return _jpeg(picture)


def draw_avatar(name: str, colors: tuple[str, str]) -> bytes:
    """An instructor portrait placeholder: a gradient square with their initials (JPEG bytes)."""
    initials = "".join(part[0] for part in name.split()[:2]).upper()
    picture = _gradient(AVATAR_SIZE, colors)
    _centered_text(ImageDraw.Draw(picture), (0, 0, *AVATAR_SIZE), initials, 104, "#ffffff")
    return _jpeg(picture)


def _arrow(draw: ImageDraw.ImageDraw, start: tuple[float, float], end: tuple[float, float]) -> None:
    draw.line((start, end), fill=DIAGRAM_INK, width=5)
    x, y = end
    draw.polygon(((x, y), (x - 18, y - 11), (x - 18, y + 11)), fill=DIAGRAM_INK)


def draw_diagram(spec: demo.DiagramSpec) -> bytes:
    """A simple, legible teaching diagram (PNG bytes)."""
    width, height = DIAGRAM_SIZE
    picture = PILImage.new("RGB", DIAGRAM_SIZE, DIAGRAM_BACKGROUND)
    draw = ImageDraw.Draw(picture, "RGBA")
    if spec.kind == "pyramid":
        bands = len(spec.labels)
        band_colors = ["#e11d48", "#f59e0b", "#16a34a"]
        top, bottom, apex_x, half_base = 40, height - 40, width / 2, 520
        for index, label in enumerate(spec.labels):
            y0 = top + (bottom - top) * index / bands
            y1 = top + (bottom - top) * (index + 1) / bands
            half0 = half_base * (y0 - top) / (bottom - top)
            half1 = half_base * (y1 - top) / (bottom - top)
            draw.polygon(
                ((apex_x - half0, y0), (apex_x + half0, y0), (apex_x + half1, y1 - 6), (apex_x - half1, y1 - 6)),
                fill=band_colors[index % len(band_colors)],
            )
            text_top = y0 + (y1 - y0) * (0.35 if index == 0 else 0.1)
            _centered_text(draw, (0, int(text_top), width, int(y1 - 6)), label, 40, "#ffffff")
        _centered_text(draw, (width - 300, top, width - 20, top + 60), "slow, few", 30, DIAGRAM_INK)
        _centered_text(draw, (width - 300, bottom - 60, width - 20, bottom), "fast, many", 30, DIAGRAM_INK)
    elif spec.kind == "venn":
        left, right, overlap = spec.labels
        radius, center_y = 220, height / 2
        draw.ellipse((width / 2 - 380, center_y - radius, width / 2 + 60, center_y + radius), fill=(36, 84, 197, 110))
        draw.ellipse((width / 2 - 60, center_y - radius, width / 2 + 380, center_y + radius), fill=(22, 163, 74, 110))
        _centered_text(draw, (int(width / 2 - 380), 0, int(width / 2 - 60), height), left, 40, DIAGRAM_INK)
        _centered_text(draw, (int(width / 2 + 60), 0, int(width / 2 + 380), height), right, 40, DIAGRAM_INK)
        _centered_text(draw, (int(width / 2 - 60), 0, int(width / 2 + 60), height), overlap.replace(" ", "\n"), 26, DIAGRAM_INK)
    else:
        count = len(spec.labels)
        box_width, gap, box_height = 180, (width - 40 - 180 * count) / (count - 1), 120
        y0 = (height - box_height) / 2
        palette = ["#2454c5", "#7b3fe4", "#0f766e", "#16a34a", "#b45309"]
        for index, label in enumerate(spec.labels):
            x0 = 20 + index * (box_width + gap)
            draw.rounded_rectangle((x0, y0, x0 + box_width, y0 + box_height), radius=18, fill=palette[index % len(palette)])
            _centered_text(draw, (int(x0), int(y0), int(x0 + box_width), int(y0 + box_height)), label, 30, "#ffffff")
            if index + 1 < count:
                _arrow(draw, (x0 + box_width + 8, height / 2), (x0 + box_width + gap - 8, height / 2))
    return _png(picture)


# --- The command ------------------------------------------------------------------------------


class Command(BaseCommand):
    """Create or update the demo site; prints what it created and updated."""

    help = "Create or update the demo site (home, /courses/, courses, lessons, editors group). Idempotent."

    def handle(self, *args: Any, **options: Any) -> None:
        """Build the site in one transaction, then print a summary."""
        self.tally: dict[str, Counter[str]] = {}
        self.seeded: list[Any] = []
        with transaction.atomic():
            images = self._sync_images()
            documents = self._sync_documents()
            instructors = self._sync_instructors(images)
            home = self._sync_home()
            catalog = self._sync_catalog(home)
            for spec in demo.COURSES:
                self._sync_course(catalog, spec, images, documents, instructors)
            self._sync_editors_group(catalog)
            # Plugins bring demo content of their own (a plugin's `demo.seed_demo`).
            for plugin in plugins():
                module = contribution(plugin, "demo")
                if module is not None:
                    module.seed_demo(catalog=catalog, stdout=self.stdout)
            # Wagtail queues its search-index updates on the task worker, which may not be
            # running yet: index the demo content now so the catalog search works at once.
            for obj in self.seeded:
                index.insert_or_update_object(obj)
            accounts = self._sync_demo_accounts() if settings.DEBUG else []
            # Apps above this one bring theirs (learning: the demo course's cohorts and roles).
            for fn in hooks.get_hooks(demo.SEED_DEMO_HOOK):
                for kind, status in fn(catalog=catalog, accounts=settings.DEBUG):
                    self._count(kind, status)
        self._print_summary(accounts)

    # -- bookkeeping

    def _count(self, kind: str, status: str) -> None:
        self.tally.setdefault(kind, Counter())[status] += 1

    def _print_summary(self, accounts: list[str]) -> None:
        self.stdout.write(self.style.SUCCESS("Demo site is ready."))
        for kind, counter in self.tally.items():
            parts = [f"{counter[status]} {status}" for status in ("created", "updated", "unchanged") if counter[status]]
            self.stdout.write(f"  {kind:<12} {', '.join(parts)}")
        for line in accounts:
            self.stdout.write(f"  {line}")

    # -- media and snippets

    def _sync_file_object(
        self, model: Any, kind: str, title: str, filename: str, make: Callable[[], bytes]
    ) -> Any:
        """The image or document titled ``title``; its file is made only when missing."""
        is_image = kind == "images"
        obj = model.objects.filter(title=title).order_by("pk").first()
        if obj is not None and obj.file and obj.file.storage.exists(obj.file.name):
            self._count(kind, "unchanged")
            return obj
        content = make()
        file = ImageFile(io.BytesIO(content), name=filename) if is_image else ContentFile(content, name=filename)
        status = "created" if obj is None else "updated"
        if obj is None:
            obj = model(title=title, collection=Collection.get_first_root_node())
        elif is_image:
            obj.renditions.all().delete()
        obj.file = file
        if is_image:
            obj._set_image_file_metadata()
        else:
            obj._set_document_file_metadata()
        obj.save()
        self._count(kind, status)
        return obj

    def _sync_images(self) -> dict[str, Any]:
        image_model = get_image_model()
        images: dict[str, Any] = {}
        for course in demo.COURSES:
            images[f"cover:{course.slug}"] = self._sync_file_object(
                image_model, "images", f"Cover: {course.title}", f"cover-{course.slug}.jpg",
                lambda course=course: draw_cover(course.initials, course.colors),
            )
        for person in demo.INSTRUCTORS:
            images[f"avatar:{person.key}"] = self._sync_file_object(
                image_model, "images", f"Portrait: {person.name}", f"portrait-{person.key}.jpg",
                lambda person=person: draw_avatar(person.name, person.colors),
            )
        for diagram in demo.DIAGRAMS:
            images[diagram.key] = self._sync_file_object(
                image_model, "images", diagram.title, f"diagram-{diagram.key}.png",
                lambda diagram=diagram: draw_diagram(diagram),
            )
        return images

    def _sync_documents(self) -> dict[str, Any]:
        document_model = get_document_model()
        return {
            spec.key: self._sync_file_object(
                document_model, "documents", spec.title, spec.filename,
                lambda spec=spec: spec.text.encode("utf-8"),
            )
            for spec in demo.DOCUMENTS
        }

    def _sync_instructors(self, images: dict[str, Any]) -> dict[str, Instructor]:
        instructors = {}
        for spec in demo.INSTRUCTORS:
            wanted = {"role": spec.role, "bio": spec.bio, "photo_id": images[f"avatar:{spec.key}"].pk}
            instructor = Instructor.objects.filter(name=spec.name).order_by("pk").first()
            if instructor is None:
                instructor = Instructor.objects.create(name=spec.name, **wanted)
                self._count("instructors", "created")
            elif any(getattr(instructor, name) != value for name, value in wanted.items()):
                for name, value in wanted.items():
                    setattr(instructor, name, value)
                instructor.save()
                self._count("instructors", "updated")
            else:
                self._count("instructors", "unchanged")
            instructors[spec.key] = instructor
            self.seeded.append(instructor)
        return instructors

    # -- pages

    def _sync_home(self) -> HomePage:
        """The HomePage, made the default site's root (replacing Wagtail's welcome page)."""
        values = {"title": demo.HOME_TITLE, "headline": demo.HOME_HEADLINE, "intro": demo.HOME_INTRO}
        home = HomePage.objects.order_by("path").first()
        root = Page.get_first_root_node()
        if home is None:
            slug = self._clear_welcome_page(root)
            home = HomePage(slug=slug, live=False, **values)
            root.add_child(instance=home)
            home.save_revision().publish()
            self._count("pages", "created")
        else:
            self._update_page(home, values, live=True)
        self.seeded.append(home)
        site = Site.objects.filter(is_default_site=True).first() or Site.objects.order_by("pk").first()
        if site is None:
            Site.objects.create(
                hostname="localhost", port=80, root_page=home, is_default_site=True, site_name=demo.HOME_TITLE
            )
            self._count("sites", "created")
        elif site.root_page_id != home.pk or not site.is_default_site or not site.site_name:
            site.root_page = home
            site.is_default_site = True
            site.site_name = site.site_name or demo.HOME_TITLE
            site.save()  # save(), not update(): it clears Wagtail's cached site root paths
            self._count("sites", "updated")
        else:
            self._count("sites", "unchanged")
        return home

    def _clear_welcome_page(self, root: Page) -> str:
        """Delete Wagtail's untouched welcome page (a plain, childless Page); return a free slug."""
        plain_page = ContentType.objects.get_for_model(Page)
        welcome = root.get_children().filter(slug="home", content_type=plain_page, numchild=0).first()
        if welcome is not None:
            # Sites cascade with their root page: point them at the tree root while we swap.
            for site in Site.objects.filter(root_page=welcome):
                site.root_page = root
                site.save()
            welcome.delete()
            root.refresh_from_db()
        return "home" if not root.get_children().filter(slug="home").exists() else "academy-home"

    def _sync_catalog(self, home: HomePage) -> CourseIndexPage:
        values = {"title": demo.CATALOG_TITLE, "intro": demo.CATALOG_INTRO}
        return self._sync_child(home, CourseIndexPage, "courses", values, live=True)

    def _sync_course(
        self,
        catalog: CourseIndexPage,
        spec: demo.CourseSpec,
        images: dict[str, Any],
        documents: dict[str, Any],
        instructors: dict[str, Instructor],
    ) -> CoursePage:
        values = {
            "title": spec.title,
            "summary": spec.summary,
            "search_description": spec.summary,
            "description": spec.description,
            "cover_image_id": images[f"cover:{spec.slug}"].pk,
            "instructor_id": instructors[spec.instructor].pk,
            "level": spec.level,
            "estimated_hours": spec.hours,
            "enrollment_mode": spec.enrollment_mode,
            "price": spec.price,
            "currency": spec.currency,
        }
        course = self._sync_child(catalog, CoursePage, spec.slug, values, live=True, tags=spec.tags)
        for lesson in spec.lessons:
            lesson_values = {
                "title": lesson.title,
                "summary": lesson.summary,
                "search_description": lesson.summary,
                "estimated_minutes": lesson.minutes,
                "body": _resolve_body(lesson.body, images, documents),
            }
            self._sync_child(course, LessonPage, lesson.slug, lesson_values, live=lesson.live)
        self._order_children(course, [lesson.slug for lesson in spec.lessons])
        return course

    def _sync_child(
        self,
        parent: Page,
        model: type[Page],
        slug: str,
        values: dict[str, Any],
        *,
        live: bool,
        tags: Iterable[str] | None = None,
    ) -> Any:
        """The ``model`` child of ``parent`` with ``slug``, created or updated to ``values``."""
        page = model.objects.child_of(parent).filter(slug=slug).first()
        if page is not None:
            self._update_page(page, values, live=live, tags=tags)
            self.seeded.append(page)
            return page
        page = model(slug=slug, live=False, **values)
        if tags is not None:
            page.tags.set(list(tags))
        parent.add_child(instance=page)
        revision = page.save_revision()
        if live:
            revision.publish()
        self._count("pages", "created")
        self.seeded.append(page)
        return page

    def _update_page(
        self, page: Page, values: dict[str, Any], *, live: bool, tags: Iterable[str] | None = None
    ) -> None:
        """Save (and publish, for a live page) a new revision only when something differs."""
        current = page.get_latest_revision_as_object()
        changed = [name for name, value in values.items() if _comparable(getattr(current, name)) != _comparable(value)]
        if tags is not None and sorted(tag.name for tag in current.tags.all()) != sorted(tags):
            current.tags.set(list(tags))
            changed.append("tags")
        # A demo page that should be live is republished; a draft an editor published stays live.
        if not changed and (page.live or not live):
            self._count("pages", "unchanged")
            return
        for name in changed:
            if name != "tags":
                setattr(current, name, values[name])
        revision = current.save_revision()
        if live:
            revision.publish()
        self._count("pages", "updated")

    def _order_children(self, parent: Page, slugs: list[str]) -> None:
        """Put the seeded children in ``slugs`` order (other children keep theirs, before them)."""
        children = list(parent.get_children().order_by("path"))
        seeded = [child for child in children if child.slug in slugs]
        if [child.slug for child in seeded] == [slug for slug in slugs if slug in {c.slug for c in seeded}]:
            return
        by_slug = {child.slug: child for child in seeded}
        for slug in slugs:
            if slug in by_slug:
                by_slug[slug].move(parent, pos="last-child")
                parent.refresh_from_db()

    # -- people and permissions

    def _sync_editors_group(self, catalog: CourseIndexPage) -> None:
        """Editors: admin access; write and publish the catalog; images, documents, instructors."""
        group, created = Group.objects.get_or_create(name=EDITORS_GROUP)
        before = (
            set(group.permissions.values_list("pk", flat=True)),
            set(GroupPagePermission.objects.filter(group=group).values_list("page_id", "permission_id")),
            set(GroupCollectionPermission.objects.filter(group=group).values_list("collection_id", "permission_id")),
        )
        model_permissions = [
            Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin"),
            *Permission.objects.filter(content_type__app_label="courses", codename__in=EDITOR_SNIPPET_PERMISSIONS),
            *Permission.objects.filter(content_type__app_label="learning", codename__in=EDITOR_LEARNING_PERMISSIONS),
        ]
        group.permissions.add(*model_permissions)
        page_permissions = Permission.objects.filter(
            content_type__app_label="wagtailcore", codename__in=EDITOR_PAGE_PERMISSIONS
        )
        # Editors manage the catalog only: drop Wagtail's default grant on the whole tree.
        GroupPagePermission.objects.filter(group=group).exclude(page=catalog).delete()
        for permission in page_permissions:
            GroupPagePermission.objects.get_or_create(group=group, page=catalog, permission=permission)
        root_collection = Collection.get_first_root_node()
        for app_label, codenames in EDITOR_COLLECTION_PERMISSIONS.items():
            for permission in Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames):
                GroupCollectionPermission.objects.get_or_create(
                    group=group, collection=root_collection, permission=permission
                )
        after = (
            set(group.permissions.values_list("pk", flat=True)),
            set(GroupPagePermission.objects.filter(group=group).values_list("page_id", "permission_id")),
            set(GroupCollectionPermission.objects.filter(group=group).values_list("collection_id", "permission_id")),
        )
        self._count("groups", "created" if created else ("updated" if before != after else "unchanged"))

    def _sync_demo_accounts(self) -> list[str]:
        """The demo logins (DEBUG only); existing accounts keep their passwords."""
        user_model = get_user_model()
        lines = []
        for username, password, role in DEMO_ACCOUNTS:
            user = user_model.objects.filter(username=username).first()
            if user is None:
                if role == "superuser":
                    user = user_model.objects.create_superuser(username, f"{username}@example.com", password)
                else:
                    user = user_model.objects.create_user(username, f"{username}@example.com", password)
                self._count("users", "created")
            else:
                self._count("users", "unchanged")
            if role == "editor":
                user.groups.add(Group.objects.get(name=EDITORS_GROUP))
            lines.append(f"demo login ({role}): {username} / {password}")
        return lines


def _comparable(value: Any) -> Any:
    """A value in a form that compares equal when the stored content is the same."""
    if hasattr(value, "raw_data"):  # StreamValue: compare blocks without their generated ids
        value = list(value.raw_data)
    if isinstance(value, list):
        return [{"type": block["type"], "value": block["value"]} for block in value]
    if hasattr(value, "source"):  # RichText
        return value.source
    return value


def _resolve_body(blocks: list[demo.Block], images: dict[str, Any], documents: dict[str, Any]) -> list[dict[str, Any]]:
    """Lesson body blocks in stored form, with image and document keys replaced by their ids."""
    resolved = []
    for block_type, value in blocks:
        if block_type == "image":
            value = {**value, "image": images[value["image"]].pk}
        elif block_type == "download":
            value = {**value, "document": documents[value["document"]].pk}
        resolved.append({"type": block_type, "value": value})
    return resolved
