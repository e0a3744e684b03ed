from academy.plugins.slots import SlotFragment


class Explodes(SlotFragment):
    slot = "course.sidebar"
    template_name = "does/not/matter.html"

    def get_context(self, request, target, prepared):
        raise RuntimeError("faulty fragment")
