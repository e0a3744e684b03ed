from django.dispatch import receiver

from academy.sdk import on_event
from academy_echo import DURABLE, RECEIVED
from learning import events


@receiver(events.lesson_completed, dispatch_uid="academy_echo.lesson_completed")
@receiver(events.course_completed, dispatch_uid="academy_echo.course_completed")
@receiver(events.sessions_ended, dispatch_uid="academy_echo.sessions_ended")
def record(sender, payload, **kwargs):
    RECEIVED.append((sender, payload))


@on_event(events.course_completed, dispatch_uid="academy_echo.durable_course_completed", durable=True)
def record_durably(sender, payload, event_id, **kwargs):
    DURABLE.append((sender, event_id, payload["course_id"]))
