"""The plugin contract test kit: checks every plugin's tests run (pytest + pytest-django).

Part of the SDK: plugins import it from ``academy.sdk`` (it lived in ``plugins.testing`` until
0.2, which still works with a DeprecationWarning). Subclass :class:`PluginContract` in a
plugin's tests and name the plugin::

    from academy.sdk import PluginContract

    class TestHelloContract(PluginContract):
        plugin_label = "hello"

It checks that the plugin's metadata is complete and its core version compatible, that its URLs
resolve (and answer without a server error), that its migrations match its models, that its
receivers are idempotent under a repeated event (the plugin's rows are the same after the event
is sent twice), that its template fragments render within their query budget *whatever the
number of targets* (1 and 10), and that its lesson kinds can be created under a course where the
plugin is active and not where it is off. Override :meth:`PluginContract.sample_events` to add
events of your own; the kit already sends ``lesson_completed`` and ``course_completed`` from a
real completion.

:func:`build_world` makes the content the checks use (a published course with lessons, learners
enrolled); plugins' own tests may use it too.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, URLPattern, URLResolver, reverse
from packaging.version import Version
from wagtail.models import Locale, Page, Site

from academy import __version__ as core_version
from academy.events import EVENTS, Event
from academy.plugins import activation, slots
from academy.plugins.discovery import REQUIRED_METADATA
from academy.plugins.registry import PluginConfig, contribution, get_plugin
from courses.lesson_kinds import kind_plugin, lesson_kinds
from courses.models import CourseIndexPage, CoursePage, HomePage, LessonPage
from learning import selectors, services
from learning.models import Enrollment
from realtime.models import Event as StoredEvent


@dataclass
class World:
    """A published site: home > catalog > two courses with lessons; learners enrolled in both."""

    home: HomePage
    catalog: CourseIndexPage
    course: CoursePage
    other_course: CoursePage
    lessons: list[LessonPage]
    learners: list[Any] = field(default_factory=list)
    enrollments: list[Enrollment] = field(default_factory=list)


def build_world(*, learners: int = 10, lessons: int = 3) -> World:
    """Create the site (replacing the default site's root) with ``learners`` enrolled learners."""
    root = Page.get_first_root_node()
    if root is None:
        Locale.objects.get_or_create(language_code=settings.LANGUAGE_CODE.split("-")[0])
        root = Page.add_root(instance=Page(title="Root", slug="root"))
    home = root.add_child(instance=HomePage(title="Contract home", slug="contract-home"))
    Site.objects.update_or_create(is_default_site=True, defaults={"root_page": home, "hostname": "localhost", "port": 80})
    catalog = home.add_child(instance=CourseIndexPage(title="Courses", slug="courses"))
    course, other = (
        catalog.add_child(instance=CoursePage(
            title=title, slug=slug, summary="A course.", description="<p>About it.</p>"))
        for title, slug in (("Contract course", "contract-course"), ("Other course", "other-course"))
    )
    made = [
        course.add_child(instance=LessonPage(title=f"Lesson {n}", slug=f"lesson-{n}", summary="Read me."))
        for n in range(1, lessons + 1)
    ]
    other.add_child(instance=LessonPage(title="Other lesson", slug="other-lesson", summary="Read me."))
    for page in [home, catalog, course, other, *made, *other.get_children()]:
        page.specific.save_revision().publish()
    world = World(home=home, catalog=catalog, course=course, other_course=other, lessons=made)
    user_model = get_user_model()
    for n in range(learners):
        user = user_model.objects.create_user(f"contract-learner-{n}", f"learner{n}@example.com", "pw-contract-1")
        world.learners.append(user)
        for target in (course, other):
            world.enrollments.append(services.enrollment_request(user=user, course=target.pk).enrollment)
    return world


class PluginContract:
    """The checks every plugin passes (see the module docstring)."""

    plugin_label: ClassVar[str] = ""

    # --- helpers --------------------------------------------------------------------------

    @property
    def plugin(self) -> PluginConfig:
        """The plugin under test (fails clearly when it is not installed)."""
        found = get_plugin(self.plugin_label)
        assert found is not None, f"plugin {self.plugin_label!r} is not installed (or was refused: manage.py check)"
        return found

    def sample_events(self, world: World) -> list[tuple[Event[Any], dict[str, Any]]]:
        """Extra ``(event, payload)`` pairs to send twice in the idempotency check."""
        return []

    def plugin_rows(self) -> dict[str, int]:
        """Row count of every model of the plugin (what a repeated event must not change)."""
        return {model._meta.label: model._default_manager.count() for model in self.plugin.get_models()}

    # --- the contract ---------------------------------------------------------------------

    def test_metadata_is_complete(self) -> None:
        """Every metadata field is filled in and versions parse."""
        plugin = self.plugin
        for attribute in REQUIRED_METADATA:
            assert str(getattr(plugin, attribute, "")).strip(), f"{attribute} is empty"
        Version(plugin.version)

    def test_core_version_is_compatible(self) -> None:
        """The plugin works with this core."""
        assert Version(self.plugin.min_core_version) <= Version(core_version)

    def test_urls_resolve(self, db: None) -> None:
        """Each URL without parameters answers without a server error, for a visitor and a user."""
        found = contribution(self.plugin, "urls")
        if found is None:
            return
        names = [p.name for p in _flatten(found.urlpatterns) if isinstance(p, URLPattern) and p.name and not p.pattern.converters]
        client = Client(raise_request_exception=False)
        user = get_user_model().objects.create_user("contract-visitor", "visitor@example.com", "pw-contract-1")
        for logged_in in (False, True):
            if logged_in:
                client.force_login(user)
            for name in names:
                url = reverse(f"{self.plugin.label}:{name}")
                assert url.startswith(f"/p/{self.plugin.label}/")
                response = client.get(url)
                assert response.status_code < 500, f"GET {url} answered {response.status_code}"

    def test_migrations_match_models(self, db: None) -> None:
        """``makemigrations --check`` finds nothing to write for the plugin."""
        output = io.StringIO()
        try:
            call_command("makemigrations", self.plugin.label, check=True, dry_run=True, stdout=output)
        except SystemExit as exc:  # raised by --check when a migration is missing
            raise AssertionError(f"missing migration for {self.plugin.label}:\n{output.getvalue()}") from exc

    def test_receivers_are_idempotent(self, db: None, django_capture_on_commit_callbacks: Any) -> None:
        """Sending the events a learner's completion sends, twice, leaves the same rows."""
        world = build_world(learners=1)
        learner = world.learners[0]
        captured: list[tuple[Event[Any], dict[str, Any]]] = []

        def capture(sender: str, payload: dict[str, Any], **kwargs: Any) -> None:
            captured.append((EVENTS[sender], payload))

        for event in EVENTS.values():
            event.connect(capture, weak=False, dispatch_uid=f"plugins.testing.capture.{event.name}")
        try:
            with django_capture_on_commit_callbacks(execute=True):
                for lesson in world.lessons:
                    services.lesson_progress_record(user=learner, lesson=lesson.pk, completed=True)
        finally:
            for event in EVENTS.values():
                event.disconnect(dispatch_uid=f"plugins.testing.capture.{event.name}")
        pairs = captured + self.sample_events(world)
        names = {event.name for event, _ in pairs}
        assert {"lesson_completed", "course_completed"} <= names
        after_first = self.plugin_rows()
        with django_capture_on_commit_callbacks(execute=True):
            for event, payload in pairs:
                event.dispatch(payload)
        assert self.plugin_rows() == after_first, "a repeated event changed the plugin's rows"

    def test_slots_render_within_their_budget(self, db: None) -> None:
        """Each fragment costs at most its ``query_budget``, the same for 1 and 10 targets."""
        fragments = [cls for name in slots.SLOTS for cls in slots.fragments(name) if cls().plugin == self.plugin_label]
        if not fragments:
            return
        world = build_world(learners=10)
        request = RequestFactory().get("/")
        request.user = world.learners[0]
        for cls in fragments:
            counts = []
            for size in (1, 10):
                targets = _targets(cls.slot, world, size)
                request._academy_slots = {}  # type: ignore[attr-defined]  # a fresh page
                activation.table()  # warm, as every page after the first
                with CaptureQueriesContext(connection) as queries:
                    for target in targets:
                        slots.render_slot(cls.slot, request=request, target=target,
                                          course=_course_of(target, world), batch=targets, only=cls)
                counts.append(len(queries))
            assert counts[0] == counts[1], f"{cls.__qualname__}: {counts[0]} queries for 1 target, {counts[1]} for 10"
            assert counts[1] <= cls.query_budget, f"{cls.__qualname__}: {counts[1]} queries, budget {cls.query_budget}"

    def test_lesson_kinds_are_creatable_where_active(self, db: None) -> None:
        """A lesson kind can be added under a course where the plugin is active, not where off."""
        kinds = [model for model in lesson_kinds() if kind_plugin(model) == self.plugin_label]
        if not kinds:
            return
        world = build_world(learners=0)
        activation.set_state(self.plugin_label, "on", course_id=world.course.pk)
        activation.set_state(self.plugin_label, "off", course_id=world.other_course.pk)
        _forget_activation()
        for model in kinds:
            assert model.can_create_at(world.course), f"{model.__name__} cannot be created in an active course"
            assert not model.can_create_at(world.other_course), f"{model.__name__} can be created where it is off"


    def test_every_door_is_gated_per_course(self, db: None, django_capture_on_commit_callbacks: Any) -> None:
        """Switched off for one course and on for another, the plugin does nothing in the first:
        its course and lesson fragments render nothing there, a learner's completion there leaves
        none of its rows, and each of its URLs and API endpoints that takes only a course
        (``course_id``, ``course_pk`` or ``course``) refuses that course (403/404) while it
        answers without a server error for the other."""
        plugin = self.plugin
        if not getattr(plugin, "per_course", True):
            return
        world = build_world(learners=1)
        learner = world.learners[0]
        activation.set_state(self.plugin_label, "on", course_id=world.course.pk)
        activation.set_state(self.plugin_label, "off", course_id=world.other_course.pk)
        _forget_activation()
        off_course = world.other_course
        off_lesson = LessonPage.objects.child_of(off_course).first()
        request = RequestFactory().get("/")
        request.user = learner
        for cls in [cls for name in slots.SLOTS for cls in slots.fragments(name) if cls().plugin == self.plugin_label]:
            target = off_course if cls.slot.startswith("course.") else off_lesson if cls.slot.startswith("lesson.") else None
            if target is None:
                continue
            request._academy_slots = {}  # type: ignore[attr-defined]  # a fresh page
            html = slots.render_slot(cls.slot, request=request, target=target, course=off_course.pk, only=cls)
            assert not str(html).strip(), f"{cls.__qualname__} renders in a course where the plugin is off"
        before = self.plugin_rows()
        with django_capture_on_commit_callbacks(execute=True):
            services.lesson_progress_record(user=learner, lesson=off_lesson.pk, completed=True)
        assert self.plugin_rows() == before, "a completion where the plugin is off changed its rows"
        staff = get_user_model().objects.create_superuser("contract-staff", "staff@example.com", "pw-contract-1")
        client = Client(raise_request_exception=False)
        client.force_login(staff)
        for module, namespace in (("urls", plugin.label), ("api", f"api-{plugin.label}")):
            found = contribution(plugin, module)
            for pattern in _flatten(found.urlpatterns) if found is not None else []:
                params = set(pattern.pattern.converters) if isinstance(pattern, URLPattern) and pattern.name else set()
                if not params or not params <= COURSE_PARAMETERS:
                    continue
                for course, refused in ((off_course, True), (world.course, False)):
                    try:
                        url = reverse(f"{namespace}:{pattern.name}", kwargs={name: course.pk for name in params})
                    except NoReverseMatch:
                        break
                    status = client.get(url).status_code
                    if refused:
                        assert status in (403, 404), f"GET {url} answered {status} where the plugin is off"
                    else:
                        assert status < 500, f"GET {url} answered {status}"


# URL parameters that name a course (the per-course door check of the contract).
COURSE_PARAMETERS = frozenset({"course_id", "course_pk", "course"})


def set_plugin_state(label: str, state: str | None, *, course_id: int | None = None) -> None:
    """Switch plugin ``label`` in a test as an editor would: ``on``, ``optin`` or ``off``
    site-wide, ``on`` or ``off`` for one course (``None`` removes a course's choice). Takes
    effect at once."""
    activation.set_state(label, state, course_id=course_id)
    _forget_activation()


def live_frames(group: str, *, since: int = 0) -> list[dict[str, Any]]:
    """The live frames published to ``group`` after id ``since``, oldest first, as a socket of
    that stream receives them: ``{"type", "id", "data"}`` (one query)."""
    rows = StoredEvent.objects.filter(group=group, pk__gt=since).order_by("pk")
    return [{"type": row.type, "id": row.pk, "data": row.data} for row in rows]


def _forget_activation() -> None:
    from django.core.cache import cache

    cache.delete(activation.CACHE_KEY)


def _flatten(patterns: list[Any]) -> list[Any]:
    flat: list[Any] = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            flat.extend(_flatten(entry.url_patterns))
        else:
            flat.append(entry)
    return flat


def _targets(slot: str, world: World, size: int) -> list[Any]:
    if slot == "dashboard.card":  # each learner's card of the course, as the dashboard shows it
        cards = []
        for learner in world.learners[:size]:
            page = selectors.dashboard(user_id=learner.pk).enrollments_page
            cards += [card for card in page.object_list if card.course_id == world.course.pk]
        return cards
    if slot.startswith("lesson."):
        return [world.lessons[0]] * size
    if slot.startswith("course."):
        return [world.course] * size
    return [None] * size


def _course_of(target: Any, world: World) -> Any:
    if hasattr(target, "course_id"):
        return target.course_id
    if target is None:
        return None
    return world.course


__all__ = ["PluginContract", "World", "build_world", "live_frames", "set_plugin_state"]
