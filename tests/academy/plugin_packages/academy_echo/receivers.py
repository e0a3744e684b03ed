from django.dispatch import receiver

from academy_echo import RECEIVED
from learning import events


@receiver(events.lesson_completed, dispatch_uid="academy_echo.lesson_completed")
@receiver(events.course_completed, dispatch_uid="academy_echo.course_completed")
@receiver(events.sessions_ended, dispatch_uid="academy_echo.sessions_ended")
def record(sender, payload, **kwargs):
    RECEIVED.append((sender, payload))
