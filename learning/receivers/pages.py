"""Wagtail's page events: publishing -> ``course_content_published``; any change to the set of
lessons that count in a course (unpublish, delete, move, a lesson kind switched on or off, a start
with another plugin set) -> the course's cached progress is recomputed, so the dashboard says
what the course page says."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate
from django.dispatch import receiver
from wagtail.models import Page
from wagtail.signals import page_published, page_unpublished, post_page_move

from academy.plugins.activation import (
    ActivationTable,
    Impact,
    activation_changed,
    completion_changes,
    switch_off_impact,
)
from academy.plugins.registry import fingerprint
from academy.tasks import enqueue
from courses.lesson_kinds import gated_course_ids, kind_plugin, lesson_kinds
from courses.models import CoursePage, LessonPage
from learning import access, events
from learning.events import CourseContentPublishedPayload
from learning.publishing import quiet_publish


@receiver(page_published, dispatch_uid="learning.course_content_published")
def on_page_published(sender: type, instance: Any, revision: Any = None, **kwargs: Any) -> None:
    """Raise ``course_content_published`` when a course or lesson page is published (goes live:
    Wagtail also sends ``page_published`` when an editor schedules a page for later, and the
    schedule's publication is the one learners hear about, as new when it is the first)."""
    if not instance.live:
        return
    if isinstance(instance, CoursePage):
        course_id, page_type = instance.pk, "course"
    elif isinstance(instance, LessonPage):
        course_id, page_type = instance.get_parent().pk, "lesson"
    else:
        return
    payload = CourseContentPublishedPayload(
        page_id=instance.pk,
        course_id=course_id,
        page_type=page_type,
        title=instance.title,
        url=instance.url or "",
        revision_id=getattr(revision, "pk", None),
        first_publication=instance.first_published_at == instance.last_published_at,
        notify=not quiet_publish(),
    )
    events.course_content_published.emit(payload)


# --- The set of lessons that count changed: recompute the course's cached progress -------------
# Publishing is covered by ``course_content_published`` (``background.refresh_and_broadcast``).
# The task runs after commit, so it counts the lessons as they are once the change is saved.

REFRESH_TASK = "learning.tasks.refresh_course_progress"


def _course_of_lesson(page: Any) -> int | None:
    """The course id of a lesson page (None for other pages)."""
    if not isinstance(page.specific_deferred, LessonPage):
        return None
    return Page.objects.filter(path=page.path[: -page.steplen]).values_list("pk", flat=True).first()


@receiver(page_unpublished, dispatch_uid="learning.lesson_set.unpublished")
def on_page_unpublished(sender: type, instance: Any, **kwargs: Any) -> None:
    """A lesson unpublished (or deleted: Wagtail unpublishes a live page first) no longer counts."""
    course_id = _course_of_lesson(instance)
    if course_id is not None:
        enqueue(REFRESH_TASK, course_id=course_id)


@receiver(post_delete, sender=LessonPage, dispatch_uid="learning.lesson_set.deleted")
def on_lesson_deleted(sender: type, instance: Any, **kwargs: Any) -> None:
    """A deleted lesson (a draft too: learners' next and resume links may name it)."""
    course_id = Page.objects.filter(path=instance.path[: -instance.steplen]).values_list("pk", flat=True).first()
    if course_id is not None:
        enqueue(REFRESH_TASK, course_id=course_id)


@receiver(post_page_move, dispatch_uid="learning.lesson_set.moved")
def on_page_moved(sender: type, instance: Any, parent_page_before: Any, parent_page_after: Any, **kwargs: Any) -> None:
    """A lesson moved counts in its new course and no longer in its old one; reordered within
    its course, it changes learners' next lessons."""
    if not isinstance(instance.specific_deferred, LessonPage):
        return
    for course_id in dict.fromkeys([parent_page_before.pk, parent_page_after.pk]):
        enqueue(REFRESH_TASK, course_id=course_id)


@receiver(activation_changed, dispatch_uid="learning.lesson_set.plugin_activation")
def on_plugin_activation_changed(sender: type, course_id: int | None, **kwargs: Any) -> None:
    """A plugin switched for a course (or site-wide) shows or hides its lesson kinds there."""
    if not any(kind_plugin(model) for model in lesson_kinds()):
        return
    course_ids = [course_id] if course_id is not None else list(CoursePage.objects.values_list("pk", flat=True))
    for pk in course_ids:
        enqueue(REFRESH_TASK, course_id=pk)


@receiver(post_migrate, dispatch_uid="learning.lesson_set.plugin_set")
def on_plugin_set_changed(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """A start with another set of plugins (one installed, upgraded, excluded or refused) may
    change which lesson kinds count: every course's cached progress is recomputed, once per plugin
    set. ``migrate`` runs at every start (``make run``, compose's migrate service)."""
    from academy.models import SideEffectRecord

    if sender.label != "learning":
        return  # post_migrate is sent once per app: act once per migrate
    _, created = SideEffectRecord.objects.using(using).get_or_create(key=f"learning:plugin-set:{fingerprint()}")
    if created:
        for pk in CoursePage.objects.using(using).values_list("pk", flat=True):
            enqueue(REFRESH_TASK, course_id=pk)


@receiver(completion_changes, dispatch_uid="learning.lesson_set.completion_changes")
def courses_whose_completion_changes(
    sender: type, plugin: str, before: ActivationTable, after: ActivationTable, **kwargs: Any
) -> list[int]:
    """Courses with live lessons of the plugin's gating lesson kinds that the switch hides."""
    return gated_course_ids(plugin, before=before, after=after)


@receiver(switch_off_impact, dispatch_uid="learning.lesson_set.switch_off_impact")
def learners_whose_progress_changes(sender: type, plugin: str, course_ids: list[int], **kwargs: Any) -> list[Impact]:
    """The learners of those courses (one query): their progress counts other lessons."""
    from learning.models import Enrollment

    learners = (
        Enrollment.objects.filter(access.access_status_filter(), course_id__in=course_ids)
        .values("user_id").distinct().count()
    )
    return [Impact("learners whose progress changes", learners)]
