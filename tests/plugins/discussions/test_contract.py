"""The discussions plugin through Academy's contract test kit."""

from __future__ import annotations

from typing import Any

from academy.sdk import PluginContract, World, is_privileged
from academy.sdk import testing as kit


class TestDiscussionsContract(PluginContract):
    """Metadata, compatibility, URLs, migrations, fragments' query budgets, per-course doors."""

    plugin_label = "discussions"

    def test_slots_render_within_their_budget(self, db: None, monkeypatch: Any) -> None:
        """The kit's check, with the learner's permissions resolved first, as on every page: core
        asks whether the viewer is staff (``is_privileged``, Django's per-user permission cache)
        before any fragment renders, and the fragments ask the same (tests/courses/
        test_page_queries.py counts the real lesson and course pages exactly)."""
        build = kit.build_world

        def warmed(**kwargs: Any) -> World:
            world = build(**kwargs)
            for learner in world.learners:
                is_privileged(learner)
            return world

        monkeypatch.setattr(kit, "build_world", warmed)
        super().test_slots_render_within_their_budget(db)
