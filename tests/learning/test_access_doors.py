"""More doors of the access policy: course-update notifications, the course stream's replay, and
the policy's own query budget."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from wagtail.models import PageViewRestriction

from courses import routing
from learning import access
from learning.models import Enrollment, Notification
from learning.tasks import broadcast_course_update
from realtime.selectors import latest_event_id
from tests.courses.helpers import Tree
from tests.learning.conftest import make_user
from tests.realtime.support import adb, communicator, receive_close, resume, run

MEMORY_LAYER = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 100}}}


def restrict_to_group(page: Any, name: str) -> Group:
    group = Group.objects.create(name=name)
    PageViewRestriction.objects.create(page=page, restriction_type=PageViewRestriction.GROUPS).groups.add(group)
    return group


@pytest.mark.django_db
def test_course_update_notifies_only_learners_who_may_still_read(tree: Tree) -> None:
    members = restrict_to_group(tree.python, "Members")
    member, outsider = make_user("ada"), make_user("bob")
    member.groups.add(members)
    for user in (member, outsider):
        Enrollment.objects.create(user=user, course=tree.python, status=Enrollment.Status.ACTIVE)
    assert broadcast_course_update(page_id=tree.lessons[0].pk, course_id=tree.python.pk) == 1
    assert list(Notification.objects.values_list("user__username", "title")) == [
        ("ada", "Python basics: “Variables” was updated"),
    ]


@pytest.mark.django_db
def test_page_rules_cost_one_query_for_any_number_of_pages(tree: Tree, django_assert_num_queries: Any) -> None:
    members = restrict_to_group(tree.sql, "Members")
    user = make_user("ada")
    user.groups.add(members)
    paths = [tree.python.path, tree.sql.path, *[lesson.path for lesson in tree.lessons]]
    routing.forget_tree()
    with django_assert_num_queries(2):  # which pages are live; the restriction snapshot (cold)
        access.page_rules(paths)
    with django_assert_num_queries(0):  # both cached (the liveness per tree generation)
        rules = access.page_rules(paths)
    who = access.viewer(user)
    with django_assert_num_queries(1):  # the user's groups, once, because a group restriction applies
        assert [rules.visibility(path, who).visible for path in paths] == [True] * len(paths)
        assert rules.visibility(tree.sql.path, who).visible
    with django_assert_num_queries(0):
        assert rules.visibility(tree.sql.path, access.viewer(AnonymousUser())) is access.Visibility.LOGIN_REQUIRED


def test_a_snapshot_read_before_a_change_commits_is_never_served_after_it(
    tree: Tree, django_capture_on_commit_callbacks: Any
) -> None:
    """The race of a cached copy: a reader loads the table, a restriction is added and its purge
    runs, then the reader stores what it loaded. The stored copy must not hide the restriction."""
    from django.core.cache import cache

    from courses import restrictions

    restrictions.snapshot()  # a generation exists, as on a running site
    generation = cache.get(restrictions.GENERATION_KEY)
    stale = restrictions.load_snapshot()  # the reader's load, before the change
    with django_capture_on_commit_callbacks(execute=True):
        PageViewRestriction.objects.create(page=tree.sql, restriction_type=PageViewRestriction.LOGIN)
    cache.set(restrictions.CACHE_KEY, (generation, stale), restrictions.CACHE_SECONDS)  # its late store
    visitor = access.viewer(AnonymousUser())
    assert access.page_visibility(visitor, tree.sql) is access.Visibility.LOGIN_REQUIRED
    assert access.refused_paths(visitor) == (tree.sql.path,)


@pytest.mark.django_db(transaction=True)
def test_course_stream_asks_again_before_a_replay(settings: Any) -> None:
    from tests.realtime.support import build_site, login_cookie
    from tests.realtime.support import make_user as make_realtime_user

    settings.CHANNEL_LAYERS = MEMORY_LAYER
    site = build_site(lessons=1)
    learner = make_realtime_user("ada")
    Enrollment.objects.create(user=learner, course=site.course, status=Enrollment.Status.ACTIVE)
    _, session = login_cookie(learner)

    async def scenario() -> None:
        comm = communicator(f"/ws/courses/{site.course.pk}/", session)
        connected, _ = await comm.connect()
        assert connected
        since = await adb(latest_event_id)()
        await resume(comm, since)
        await adb(restrict_to_group)(site.course, "Members")
        await comm.send_json_to({"type": "resume", "since": since})
        assert await receive_close(comm) == 4403

    run(scenario)


@pytest.mark.django_db
def test_restrictions_come_from_one_snapshot_purged_on_every_change(
    tree: Tree, django_assert_num_queries: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from courses.restrictions import snapshot
    from courses.selectors import restricted_pages

    ada = make_user("ada")
    members = Group.objects.create(name="Members")
    ada.groups.add(members)
    who = access.viewer(ada)
    assert access.refused_paths(who) == ()
    with django_assert_num_queries(0):  # every reader shares the cached snapshot
        assert access.refused_paths(who) == ()
        assert restricted_pages() == ()
        assert snapshot().restrictions == ()
    with django_capture_on_commit_callbacks(execute=True):
        restriction = PageViewRestriction.objects.create(page=tree.sql, restriction_type=PageViewRestriction.GROUPS)
    assert access.refused_paths(access.viewer(ada)) == (tree.sql.path,)  # saved: purged
    assert restricted_pages() == ((tree.sql.pk, tree.sql.path),)
    with django_capture_on_commit_callbacks(execute=True):
        restriction.groups.add(members)
    who = access.viewer(ada)
    assert access.refused_paths(who) == ()  # groups changed (m2m_changed): purged
    with django_assert_num_queries(1):  # the page query only (ada's groups are known by now)
        assert access.page_rules([tree.sql.path]).visibility(tree.sql.path, who) is access.Visibility.VISIBLE
    with django_capture_on_commit_callbacks(execute=True):
        restriction.groups.remove(members)
    assert access.page_visibility(access.viewer(ada), tree.sql) is access.Visibility.GROUP_REQUIRED
    with django_capture_on_commit_callbacks(execute=True):
        restriction.delete()
    assert access.page_visibility(access.viewer(ada), tree.sql) is access.Visibility.VISIBLE
    assert restricted_pages() == ()
