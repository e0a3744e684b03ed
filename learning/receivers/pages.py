"""Translate Wagtail's page events into domain events."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver
from wagtail.signals import page_published

from courses.models import CoursePage, LessonPage
from learning import events
from learning.events import CourseContentPublishedPayload
from learning.publishing import quiet_publish


@receiver(page_published, dispatch_uid="learning.course_content_published")
def on_page_published(sender: type, instance: Any, revision: Any = None, **kwargs: Any) -> None:
    """Raise ``course_content_published`` when a course or lesson page is published."""
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
