"""Wagtail page types: home, the course catalog, courses and lessons.

Pages hold content and routing only; reads that a page needs go through ``courses.selectors``
(and ``learning.selectors`` for a learner's own state), and nothing here writes.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.http import Http404, HttpRequest
from django.utils.functional import SimpleLazyObject
from modelcluster.contrib.taggit import ClusterTaggableManager
from modelcluster.fields import ParentalKey
from taggit.models import TaggedItemBase
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Page, PageViewRestriction
from wagtail.search import index
from wagtail.snippets.models import register_snippet
from wagtail.url_routing import RouteResult

from courses import pagecache
from courses.blocks import RICH_TEXT_FEATURES, LessonBodyBlock

CATALOG_PAGE_SIZE = 12
FEATURED_COURSE_COUNT = 3
# Longer catalog query strings are cut (a search box needs no more; it bounds the work).
SEARCH_QUERY_MAX_LENGTH = 200
TAG_SLUG_MAX_LENGTH = 100


class Level(models.TextChoices):
    """How much a learner should know before starting a course."""

    BEGINNER = "beginner", "Beginner"
    INTERMEDIATE = "intermediate", "Intermediate"
    ADVANCED = "advanced", "Advanced"


class ReleaseRule(models.TextChoices):
    """When a lesson opens to a learner (drip release)."""

    WITH_COURSE = "", "With the course"
    AFTER_START = "after_start", "N days after the learner's start"
    AFTER_PREVIOUS = "after_previous", "N days after completing the previous lesson"


class DueRule(models.TextChoices):
    """When a lesson is due."""

    NONE = "", "No due date"
    AFTER_COHORT_START = "after_cohort_start", "N days after the cohort starts"
    AFTER_ENROLLMENT = "after_enrollment", "N days after the learner enrolls"
    FIXED = "fixed", "On a fixed date"


class EnrollmentMode(models.TextChoices):
    """How a learner gets into a course."""

    OPEN = "open", "Open: anyone can enroll at once"
    APPROVAL = "approval", "Approval required (paid or limited courses)"


@register_snippet
class Instructor(index.Indexed, models.Model):
    """A person who teaches courses; a snippet so one instructor can teach many courses."""

    name = models.CharField(max_length=120)
    role = models.CharField(max_length=120, blank=True, help_text="e.g. 'Senior engineer at …'")
    bio = models.TextField(blank=True)
    photo = models.ForeignKey(
        "wagtailimages.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    panels = [FieldPanel("name"), FieldPanel("role"), FieldPanel("bio"), FieldPanel("photo")]
    search_fields = [index.SearchField("name"), index.AutocompleteField("name")]

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RoutedPageMixin:
    """Pages that know the ancestors :meth:`HomePage.route` loaded on the way to them.

    ``routed_ancestors`` (root first, specific where the route loaded them) saves the ancestor
    queries of Wagtail's view-restriction check and of breadcrumbs; it is None when the page was
    not reached through the route (a preview, a page loaded in code).
    """

    routed_ancestors: list[Page] | None = None

    def get_view_restrictions(self) -> Any:
        """Wagtail's check, answered from the cached set of restricted pages: no query when
        neither the page nor an ancestor is restricted, one (the restrictions) otherwise.

        Aliases take their source's restrictions: when an alias is on the way, or the ancestors
        are not known, Wagtail's own lookup answers.
        """
        from courses.selectors import restricted_pages

        ancestors = self.routed_ancestors
        depth = self.depth  # type: ignore[attr-defined]
        if ancestors is None and depth > HOME_DEPTH:
            return super().get_view_restrictions()  # type: ignore[misc]
        if self.alias_of_id or any(page.alias_of_id for page in ancestors or ()):  # type: ignore[attr-defined]
            return super().get_view_restrictions()  # type: ignore[misc]
        path = self.path  # type: ignore[attr-defined]
        page_ids = [page_id for page_id, restricted in restricted_pages() if path.startswith(restricted)]
        if not page_ids:
            return PageViewRestriction.objects.none()
        return PageViewRestriction.objects.filter(page_id__in=page_ids)


# The depth of a site's home page (below the tree root): its only ancestor is the root.
HOME_DEPTH = 2


class ContainerRoutingMixin:
    """Pages below a page that is not live are not served either.

    Wagtail routes through a draft parent to its live children; for Academy that would publish
    the lessons of an unpublished course (or the courses of an unpublished catalog).
    """

    def route(self, request: HttpRequest, path_components: list[str]) -> RouteResult:
        """Refuse to route past this page while it is not live."""
        if path_components and not self.live:  # type: ignore[attr-defined]
            raise Http404("This page is not published.")
        return super().route(request, path_components)  # type: ignore[misc]


def _joined_specific(row: Page) -> Page | None:
    """The specific page of ``row`` when the route's query joined its table, else None.

    A page type that subclasses a joined one (a plugin's lesson kind subclassing LessonPage) is
    loaded with one query of its own, so it keeps the route's known ancestors (no ancestor or
    view-restriction queries later) like the core types do.
    """
    specific_class = row.specific_class
    name = specific_class._meta.model_name if specific_class else None
    if name not in _ROUTE_JOINED_TYPES:
        if specific_class is not None and issubclass(specific_class, _route_joined_models()):
            return specific_class._default_manager.filter(pk=row.pk).first()
        return None
    try:
        return getattr(row, name)
    except models.ObjectDoesNotExist:
        return None


def _lesson_content_type_id() -> int:
    """Core's lesson page type (no query once Django's content type cache holds it)."""
    return ContentType.objects.get_for_model(LessonPage, for_concrete_model=False).pk


def _route_joined_models() -> tuple[type[Page], ...]:
    return (CourseIndexPage, CoursePage, LessonPage)


# Page types whose own table the route joins (reverse one-to-one names of their page_ptr).
_ROUTE_JOINED_TYPES = ("courseindexpage", "coursepage", "lessonpage")


class SharedCacheMixin:
    """Pages whose anonymous responses may come from the shared page cache (``courses.pagecache``).

    ``shared_cache_query_params`` are the query parameters the page reads; a request with any
    other parameter is always rendered.
    """

    shared_cache_query_params: frozenset[str] = frozenset()

    def serve(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        """Mark the request as shareable, then serve as Wagtail does."""
        pagecache.mark_shareable(request, query_params=self.shared_cache_query_params)
        return super().serve(request, *args, **kwargs)  # type: ignore[misc]


class HomePage(SharedCacheMixin, RoutedPageMixin, ContainerRoutingMixin, Page):
    """The site's front page: a welcome and the newest courses."""

    headline = models.CharField(max_length=200, default="Learn something new, one lesson at a time")
    intro = RichTextField(blank=True, features=RICH_TEXT_FEATURES)

    content_panels = [*Page.content_panels, FieldPanel("headline"), FieldPanel("intro")]
    parent_page_types = ["wagtailcore.Page"]
    subpage_types = ["courses.CourseIndexPage"]
    max_count = 1

    def route(self, request: HttpRequest, path_components: list[str]) -> RouteResult:
        """Find the page at ``path_components`` below home in one query (Wagtail's own route
        costs two queries per level: the child, then its specific row).

        One query loads the tree root, home's ancestors and every page on the path, joined to
        the course page types' own tables. Each level keeps Wagtail's rules (a page that is not
        live does not route further, the last one must be live); a level of another page type,
        or a path that is not all pages, goes on through that page's own ``route()``.
        """
        if not path_components:
            return super().route(request, path_components)
        prefixes = []
        url_path = self.url_path
        for component in path_components:
            url_path = f"{url_path}{component}/"
            prefixes.append(url_path)
        ancestor_paths = [self.path[:end] for end in range(self.steplen, len(self.path), self.steplen)]
        rows = list(
            Page.objects.filter(
                models.Q(url_path__in=prefixes, path__startswith=self.path) | models.Q(path__in=ancestor_paths)
            ).select_related(*_ROUTE_JOINED_TYPES)
        )
        by_url_path = {row.url_path: row for row in rows if row.path.startswith(self.path)}
        ancestors: list[Page] = [row for row in rows if row.path in ancestor_paths]
        ancestors.sort(key=lambda row: row.depth)
        ancestors.append(self)
        current: Page = self
        for level, prefix in enumerate(prefixes):
            row = by_url_path.get(prefix)
            if row is not None and row.specific_class is None:
                # Its page type is not installed here (a plugin's lesson kind, the plugin excluded
                # or refused): hidden like a kind switched off, never served as a bare page.
                raise Http404("This kind of page is not available here.")
            specific = _joined_specific(row) if row is not None else None
            if specific is None:
                if current is self:
                    # Nothing below home has this path: Wagtail's own route answers (a 404).
                    return super().route(request, path_components)
                return current.route(request, path_components[level:])
            if isinstance(current, ContainerRoutingMixin) and not current.live:
                raise Http404("This page is not published.")
            current = specific
            if level < len(prefixes) - 1:
                if type(current).route is not ContainerRoutingMixin.route:
                    return current.route(request, path_components[level + 1 :])
                ancestors.append(current)
        current.routed_ancestors = ancestors  # type: ignore[attr-defined]
        return current.route(request, [])

    def get_context(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Add the newest published courses, the catalog and its topics (tags)."""
        from courses.selectors import catalog_tags, course_cards

        context = super().get_context(request, *args, **kwargs)
        catalog = CourseIndexPage.objects.live().descendant_of(self).first()
        context["featured_courses"] = course_cards(site_root=self)[:FEATURED_COURSE_COUNT]
        context["catalog"] = catalog
        context["topics"] = catalog_tags(index_page=catalog) if catalog else []
        return context


class CourseIndexPage(SharedCacheMixin, RoutedPageMixin, ContainerRoutingMixin, Page):
    """The course catalog (/courses/): search, tag filter and course cards."""

    shared_cache_query_params = frozenset({"page", "tag", "q"})

    intro = RichTextField(blank=True, features=RICH_TEXT_FEATURES)

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    parent_page_types = ["courses.HomePage"]
    subpage_types = ["courses.CoursePage"]
    max_count = 1

    def get_context(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Add the filtered, paginated course cards, the search query and the tag cloud."""
        from courses.routing import tree_generation
        from courses.selectors import (
            catalog_page,
            catalog_tags,
            normalize_search_query,
            restricted_pages,
        )

        context = super().get_context(request, *args, **kwargs)
        query = request.GET.get("q", "").strip()[:SEARCH_QUERY_MAX_LENGTH]
        tag = request.GET.get("tag", "").strip()[:TAG_SLUG_MAX_LENGTH]
        page_number = request.GET.get("page", "1")
        search_terms = normalize_search_query(query)
        context.update(
            query=query,
            search_terms=search_terms,
            active_tag=tag,
            tags=catalog_tags(index_page=self),
            # Evaluated by the template only when its cached rendering is missing.
            courses_page=SimpleLazyObject(lambda: catalog_page(
                index_page=self, query=query, tag=tag, page_number=page_number,
                user=request.user, session=getattr(request, "session", None),
            )),
        )
        # Without a search the listing is the same for everyone (public courses only): logged-in
        # readers get it from the cache, per tree generation, filter, page and restricted set.
        # A search may look into lesson bodies the reader may read: always rendered.
        shareable = not search_terms and self.live and not getattr(request, "is_preview", False)
        context["catalog_cache_seconds"] = settings.ACADEMY_CACHE_TIMEOUT if shareable else 0
        context["tree_generation"] = tree_generation()
        variant = repr((query, tag, page_number, restricted_pages()))
        context["catalog_variant"] = hashlib.sha256(variant.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return context


class CourseTag(TaggedItemBase):
    """Tags on courses (for the catalog's filter)."""

    content_object = ParentalKey("courses.CoursePage", on_delete=models.CASCADE, related_name="tagged_items")


class CoursePage(SharedCacheMixin, RoutedPageMixin, ContainerRoutingMixin, Page):
    """A course: its description and, as child pages, its lessons in tree order."""

    summary = models.CharField(max_length=300, help_text="One or two sentences for course cards and search results.")
    description = RichTextField(features=[*RICH_TEXT_FEATURES, "h2", "h3"])
    cover_image = models.ForeignKey(
        "wagtailimages.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    instructor = models.ForeignKey(
        Instructor, null=True, blank=True, on_delete=models.SET_NULL, related_name="courses"
    )
    level = models.CharField(max_length=20, choices=Level.choices, default=Level.BEGINNER)
    estimated_hours = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1)], help_text="Roughly how long the whole course takes, in hours."
    )
    enrollment_mode = models.CharField(
        max_length=20, choices=EnrollmentMode.choices, default=EnrollmentMode.OPEN
    )
    price = models.DecimalField(
        max_digits=8, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Shown to learners for approval-required courses.",
    )
    currency = models.CharField(max_length=3, default="USD", help_text="ISO 4217 code, e.g. USD or EUR.")
    tags = ClusterTaggableManager(through=CourseTag, blank=True)
    pass_grade = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(100)],
        help_text="The course grade (percent, weighted over the graded lessons) that passes the course; "
        "empty for none. Certificates can require it.",
    )

    content_panels = [
        *Page.content_panels,
        FieldPanel("summary"),
        FieldPanel("description"),
        FieldPanel("cover_image"),
        FieldPanel("instructor"),
        MultiFieldPanel(
            [FieldRowPanel([FieldPanel("level"), FieldPanel("estimated_hours")]), FieldPanel("tags")],
            heading="About the course",
        ),
        MultiFieldPanel(
            [FieldPanel("enrollment_mode"), FieldRowPanel([FieldPanel("price"), FieldPanel("currency")])],
            heading="Enrollment",
        ),
        MultiFieldPanel([FieldPanel("pass_grade")], heading="Grading"),
    ]
    search_fields = [
        *Page.search_fields,
        index.SearchField("summary"),
        index.SearchField("description"),
        index.AutocompleteField("summary"),
        index.RelatedFields("tags", [index.SearchField("name")]),
        index.RelatedFields("instructor", [index.SearchField("name")]),
        index.FilterField("level"),
        index.FilterField("enrollment_mode"),
    ]
    parent_page_types = ["courses.CourseIndexPage"]
    subpage_types = ["courses.LessonPage"]
    # The admin lists a course's lessons in course order (numbered by learning.wagtail_hooks).
    admin_default_ordering = "ord"

    #: Editors switch plugins per course page (``academy.plugins``).
    plugin_scope: ClassVar[bool] = True

    class Meta:
        verbose_name = "course"

    @classmethod
    def clean_subpage_models(cls) -> list[type[Page]]:
        """Lessons of every kind (plugins' lesson page types too) go under a course."""
        from courses.lesson_kinds import lesson_kinds

        return lesson_kinds()

    @property
    def requires_approval(self) -> bool:
        """Whether enrolling needs a staff member's approval."""
        return self.enrollment_mode == EnrollmentMode.APPROVAL

    def clean(self) -> None:
        """Open courses are free: a price only makes sense when enrollment needs approval."""
        super().clean()
        self.currency = (self.currency or "").upper()
        if self.enrollment_mode == EnrollmentMode.OPEN and self.price:
            raise ValidationError(
                {"price": "Open courses are free. Choose 'Approval required' to charge for a course."}
            )

    def get_context(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Add the course's published lessons in tree order."""
        from courses.routing import tree_generation
        from courses.selectors import course_outline

        context = super().get_context(request, *args, **kwargs)
        context["lessons"] = course_outline(self)
        # The description and the instructor panel are the same for every reader of the live
        # page; cached per tree generation (``courses.routing``), never for a preview or draft.
        shareable = self.live and not getattr(request, "is_preview", False)
        context["fragment_cache_seconds"] = settings.ACADEMY_CACHE_TIMEOUT if shareable else 0
        context["tree_generation"] = tree_generation()
        context["catalog"] = self.routed_ancestors[-1] if self.routed_ancestors else self.get_parent()
        return context


class LessonPage(SharedCacheMixin, RoutedPageMixin, Page):
    """One lesson of a course. Its position among its siblings is its place in the course."""

    summary = models.TextField(
        blank=True, help_text="The lesson's introduction, shown to everyone (the body is for enrolled learners)."
    )
    body = StreamField(LessonBodyBlock(), blank=True)
    estimated_minutes = models.PositiveSmallIntegerField(default=10, validators=[MinValueValidator(1)])
    # Dates (``learning.schedule`` reads them): when the lesson opens to a learner (drip release)
    # and when it is due. "Start" is the learner's cohort start, or their enrollment when the
    # cohort has no start date.
    release_rule = models.CharField(
        max_length=20, choices=ReleaseRule.choices, default=ReleaseRule.WITH_COURSE, blank=True,
        help_text="When learners may open the lesson.",
    )
    release_days = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(3650)],
        help_text="Days after the start (or after completing the previous lesson) before the lesson opens.",
    )
    due_rule = models.CharField(
        max_length=20, choices=DueRule.choices, default=DueRule.NONE, blank=True,
        help_text="When the lesson is due.",
    )
    due_days = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(3650)],
        help_text="Days after the cohort start or the learner's enrollment when it is due.",
    )
    due_at = models.DateTimeField(null=True, blank=True, help_text="The due date, for a fixed date.")
    grade_weight = models.PositiveSmallIntegerField(
        default=1, validators=[MaxValueValidator(1000)],
        help_text="Weight of this lesson's grade in the course grade (graded lessons only; 0 leaves it out).",
    )

    schedule_panels: ClassVar[list[Any]] = [
        MultiFieldPanel(
            [
                FieldRowPanel([FieldPanel("release_rule"), FieldPanel("release_days")]),
                FieldRowPanel([FieldPanel("due_rule"), FieldPanel("due_days"), FieldPanel("due_at")]),
            ],
            heading="Dates",
        ),
    ]
    content_panels = [
        *Page.content_panels,
        FieldPanel("summary"),
        FieldPanel("estimated_minutes"),
        FieldPanel("body"),
        *schedule_panels,
    ]
    search_fields = [*Page.search_fields, index.SearchField("summary"), index.SearchField("body")]
    parent_page_types = ["courses.CoursePage"]
    subpage_types: list[str] = []

    #: Whether learners finish it with "Mark as complete" (a quiz is finished by passing it).
    offers_mark_complete: ClassVar[bool] = True
    #: Whether the kind reports a grade (``learning.gradebook.grade_record``): graded lessons are
    #: the gradebook's items, weighted by ``grade_weight``. Core's lesson is not graded.
    graded: ClassVar[bool] = False

    def clean(self) -> None:
        """A fixed due date needs its date; the other rules ignore it."""
        super().clean()
        if self.due_rule == DueRule.FIXED and self.due_at is None:
            raise ValidationError({"due_at": "Give the due date, or choose another rule."})

    def get_admin_display_title(self) -> str:
        """The title, numbered ("2. Functions") where the admin's listing annotated the number."""
        number = getattr(self, "lesson_number", None)
        title = super().get_admin_display_title()
        return f"{number}. {title}" if number else title

    class Meta:
        verbose_name = "lesson"

    def completion_gate(self, user: Any) -> str | None:
        """Why ``user`` may not complete this lesson now, or None when they may.

        The progress service asks before it records a completion. Core lessons always allow it;
        a lesson kind overrides this (a quiz: only after a passing attempt).
        """
        return None

    @classmethod
    def can_create_at(cls, parent: Page) -> bool:
        """Wagtail's rule, and a plugin's lesson kind only under a course where it is active."""
        from courses.lesson_kinds import kind_is_active

        return super().can_create_at(parent) and kind_is_active(cls, parent.pk)

    @property
    def course_path(self) -> str:
        """The tree path of the lesson's course (its parent): the one lesson -> course lookup."""
        return self.path[: -self.steplen]

    def get_template(self, request: HttpRequest, *args: Any, **kwargs: Any) -> str | list[str]:
        """A lesson kind's own template (``<app>/<model>.html`` or ``template``) when it has one,
        else the core lesson page's."""
        own = super().get_template(request, *args, **kwargs)
        return own if type(self) is LessonPage else [own, "courses/lesson_page.html"]

    def serve(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        """A lesson kind switched off for its course (or whose plugin is not installed here:
        excluded, refused) is not served (404); its data is kept."""
        from courses.lesson_kinds import is_shown_kind, kind_plugin

        own_kind = type(self) is LessonPage and self.content_type_id == _lesson_content_type_id()
        if not own_kind or kind_plugin(type(self)) is not None:
            routed = self.routed_ancestors or []
            course_id = routed[-1].pk if routed else CoursePage.objects.only("pk").get(path=self.course_path).pk
            if not is_shown_kind(self.content_type_id, course_id):
                raise Http404("This kind of lesson is switched off for the course.")
        return super().serve(request, *args, **kwargs)

    def get_context(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Add the course, the lesson's number and its previous and next lessons."""
        from courses.selectors import lesson_navigation

        context = super().get_context(request, *args, **kwargs)
        routed = self.routed_ancestors or []
        parent = routed[-1] if routed else None
        context.update(lesson_navigation(lesson=self, course=parent if isinstance(parent, CoursePage) else None))
        context["catalog"] = routed[-2] if len(routed) >= 2 else context["course"].get_parent()
        # The rendered body is cached per live revision (a publish makes a new key); never for
        # a preview or a draft, whose body is not the live revision's.
        shareable_body = self.live and self.live_revision_id and not getattr(request, "is_preview", False)
        context["body_cache_seconds"] = settings.ACADEMY_CACHE_TIMEOUT if shareable_body else 0
        return context
