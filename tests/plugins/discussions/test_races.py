"""Concurrent votes and replies on PostgreSQL: 20 votes of one learner are one vote, and the
counts of concurrent voters and replies are exact.

Each thread has its own connection and waits on a barrier so the calls overlap.
"""

from __future__ import annotations

from typing import Any

import pytest

from learning.services import enrollment_request
from plugins.discussions import services
from plugins.discussions.models import Thread, Vote
from tests.learning.conftest import make_user
from tests.learning.test_races import run_concurrently
from tests.plugins.discussions.helpers import ask

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

VOTES = 20


def test_twenty_concurrent_votes_of_one_person_are_one_vote(lesson: Any, ada: Any, bob: Any) -> None:
    thread = ask(ada, lesson)

    def vote() -> int:
        post, found, _place = services.post_for(bob, thread.opening_id)
        return services.vote(user=bob, post=post, thread=found)

    counts = run_concurrently([vote] * VOTES)
    assert Vote.objects.count() == 1 and max(counts) == 1
    assert Thread.objects.get(pk=thread.pk).vote_count == 1


def test_concurrent_voters_and_replies_are_all_counted(tree: Any, lesson: Any, ada: Any) -> None:
    thread = ask(ada, lesson)
    voters = [make_user(f"voter{n}") for n in range(8)]
    for voter in voters:
        enrollment_request(user=voter, course=tree.python)

    def vote_and_reply(user: Any) -> None:
        post, found, place = services.post_for(user, thread.opening_id)
        services.vote(user=user, post=post, thread=found)
        services.reply_create(user=user, thread=found, place=place, body="Me too")

    run_concurrently([lambda user=user: vote_and_reply(user) for user in voters])
    thread.refresh_from_db()
    assert (thread.vote_count, thread.reply_count) == (8, 8)
