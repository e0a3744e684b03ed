from django.db.models import Count

from academy.plugins.slots import SlotFragment
from learning.models import Enrollment


class LearnerCount(SlotFragment):
    slot = "course.sidebar"
    template_name = "academy_badge/count.html"
    query_budget = 1

    def prepare(self, request, targets):
        ids = {target.pk for target in targets}
        rows = Enrollment.objects.filter(course_id__in=ids).values("course_id").annotate(n=Count("pk"))
        return {row["course_id"]: row["n"] for row in rows}

    def get_context(self, request, target, prepared):
        return {"count": prepared.get(target.pk, 0)}


class CardProgressRows(SlotFragment):
    slot = "dashboard.card"
    template_name = "academy_badge/count.html"
    query_budget = 1

    def prepare(self, request, targets):
        ids = {card.course_id for card in targets}
        rows = Enrollment.objects.filter(course_id__in=ids).values("course_id").annotate(n=Count("pk"))
        return {row["course_id"]: row["n"] for row in rows}

    def get_context(self, request, target, prepared):
        return {"count": prepared.get(target.course_id, 0)}
