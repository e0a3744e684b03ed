from django.dispatch import receiver

from learning import events


@receiver(events.lesson_completed, dispatch_uid="academy_faulty.lesson_completed")
def explode(sender, payload, **kwargs):
    raise RuntimeError("faulty receiver")
