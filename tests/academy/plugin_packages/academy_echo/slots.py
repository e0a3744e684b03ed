from academy.plugins.slots import SlotFragment


class CourseEcho(SlotFragment):
    slot = "course.sidebar"
    template_name = "academy_echo/fragment.html"
    query_budget = 0

    def get_context(self, request, target, prepared):
        return {"text": f"echo course {target.pk}"}


class LessonEcho(SlotFragment):
    slot = "lesson.after_body"
    template_name = "academy_echo/fragment.html"
    query_budget = 0

    def get_context(self, request, target, prepared):
        return {"text": f"echo lesson {target.pk}"}


class HeaderEcho(SlotFragment):
    slot = "header"
    template_name = "academy_echo/fragment.html"
    query_budget = 0

    def get_context(self, request, target, prepared):
        return {"text": "echo header"}
