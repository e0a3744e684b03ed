"""Page tree rules, routing, rendering and preview of the course page types (Wagtail's helpers)."""

from __future__ import annotations

from django.urls import reverse
from wagtail.models import Page
from wagtail.test.utils import WagtailPageTestCase

from courses.lesson_kinds import lesson_kinds
from courses.models import CourseIndexPage, CoursePage, HomePage, LessonPage
from tests.courses.helpers import lesson_form_data, make_lesson, make_tree


class PageTreeRulesTests(WagtailPageTestCase):
    """An editor can only build Home > Courses > Course > Lesson."""

    def test_home_page_allowed_only_under_the_tree_root(self) -> None:
        self.assertAllowedParentPageTypes(HomePage, {Page})
        self.assertAllowedSubpageTypes(HomePage, {CourseIndexPage})

    def test_catalog_allowed_only_under_home(self) -> None:
        self.assertCanCreateAt(HomePage, CourseIndexPage)
        self.assertAllowedParentPageTypes(CourseIndexPage, {HomePage})
        self.assertAllowedSubpageTypes(CourseIndexPage, {CoursePage})

    def test_course_allowed_only_under_the_catalog(self) -> None:
        self.assertCanCreateAt(CourseIndexPage, CoursePage)
        self.assertCanNotCreateAt(HomePage, CoursePage)
        self.assertCanNotCreateAt(CoursePage, CoursePage)
        self.assertCanNotCreateAt(LessonPage, CoursePage)
        # Lessons of every kind: core's and the installed plugins' lesson kinds.
        self.assertAllowedSubpageTypes(CoursePage, set(lesson_kinds()))
        self.assertIn(LessonPage, lesson_kinds())

    def test_lesson_allowed_only_under_a_course(self) -> None:
        self.assertCanCreateAt(CoursePage, LessonPage)
        self.assertCanNotCreateAt(HomePage, LessonPage)
        self.assertCanNotCreateAt(CourseIndexPage, LessonPage)
        self.assertCanNotCreateAt(LessonPage, LessonPage)
        self.assertAllowedSubpageTypes(LessonPage, set())

    def test_home_and_catalog_are_single_instances(self) -> None:
        tree = make_tree()
        self.assertEqual(HomePage.can_create_at(Page.get_first_root_node()), False)
        self.assertEqual(CourseIndexPage.can_create_at(tree.home), False)
        self.assertEqual(CoursePage.can_create_at(tree.catalog), True)


class PageRoutingAndPreviewTests(WagtailPageTestCase):
    """Every page type routes, renders and previews."""

    def setUp(self) -> None:
        self.tree = make_tree()

    def test_pages_are_routable(self) -> None:
        for page in (self.tree.home, self.tree.catalog, self.tree.python, self.tree.lessons[0]):
            self.assertPageIsRoutable(page)

    def test_pages_are_renderable_for_anonymous_visitors(self) -> None:
        for page in (self.tree.home, self.tree.catalog, self.tree.python, self.tree.lessons[1]):
            self.assertPageIsRenderable(page)

    def test_pages_are_previewable(self) -> None:
        for page in (self.tree.home, self.tree.catalog, self.tree.python):
            self.assertPageIsPreviewable(page)
        lesson = self.tree.lessons[2]
        # The StreamField's form is built by JavaScript, so the lesson's form data is given.
        self.assertPageIsPreviewable(lesson, post_data=lesson_form_data(lesson.title, lesson.slug, blocks=[("paragraph", "<p>Hi</p>")]))

    def test_pages_are_editable(self) -> None:
        self.assertPageIsEditable(self.tree.python)
        lesson = self.tree.lessons[0]
        self.assertPageIsEditable(lesson, post_data=lesson_form_data(lesson.title, lesson.slug, action="action-publish"))

    def test_urls_follow_the_tree(self) -> None:
        self.assertEqual(self.tree.catalog.url, "/courses/")
        self.assertEqual(self.tree.python.url, "/courses/python-basics/")
        self.assertEqual(self.tree.lessons[0].url, "/courses/python-basics/variables/")

    def test_draft_lesson_preview_renders_after_the_live_lessons(self) -> None:
        draft = make_lesson(self.tree.python, "Packaging", live=False)
        self.login()
        preview_url = reverse("wagtailadmin_pages:preview_on_edit", args=[draft.pk])
        data = lesson_form_data("Packaging", draft.slug, blocks=[("heading", {"text": "Wheels", "level": "h2"})])
        self.assertEqual(self.client.post(preview_url, data).json(), {"is_valid": True, "is_available": True})
        response = self.client.get(preview_url)
        self.assertContains(response, "Lesson 4 of 3")
        self.assertContains(response, "<h2>Wheels</h2>", html=True)
