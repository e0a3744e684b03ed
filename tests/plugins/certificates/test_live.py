"""Live: when the certificate task finishes, the learner's open pages hear ``certificates.issued``
on their progress stream (stored first, so a reconnecting page gets it on resume), through the
project's ASGI application, on the embedded layer with the outbox relay and on channels_redis."""

from __future__ import annotations

import pytest

from learning import services as learning_services
from plugins.certificates import services, tasks
from plugins.certificates.models import Certificate
from realtime.selectors import latest_event_id
from tests.realtime.conftest import World
from tests.realtime.support import adb, communicator, receive_event, resume, run

pytestmark = pytest.mark.usefixtures("layer")


def _complete(world: World) -> None:
    for lesson in world.site.lessons:
        learning_services.lesson_progress_record(user=world.learner, lesson=lesson, completed=True)


def _issue(world: World) -> Certificate:
    tasks.issue_certificate(user_id=world.learner.pk, course_id=world.site.course.pk)
    return Certificate.objects.get(user=world.learner)


def test_progress_stream_gets_certificates_issued_when_the_task_finishes(world: World) -> None:
    async def scenario() -> None:
        comm = communicator("/ws/progress/", world.learner_session)
        assert (await comm.connect())[0] is True
        await resume(comm, await adb(latest_event_id)())
        await adb(_complete)(world)
        progress = [await receive_event(comm) for _ in world.site.lessons]
        assert progress[-1]["data"]["course_completed"] is True
        certificate = await adb(_issue)(world)
        frame = await receive_event(comm)
        # Ids are global: the learner's notifications took some in between.
        assert frame.pop("id") > progress[-1]["id"]
        assert frame == {
            "type": "certificates.issued",
            "data": {
                "course_id": world.site.course.pk,
                "status": "valid",
                "ready": True,
                "download_url": f"/p/certificates/{certificate.code}/download/",
                "verify_url": f"/certificates/{certificate.code}/",
            },
        }
        assert await comm.receive_nothing() is True
        await comm.disconnect()

    run(scenario)


def test_a_page_that_reconnects_gets_the_missed_certificate_frame_on_resume(world: World) -> None:
    async def scenario() -> None:
        since = await adb(latest_event_id)()
        await adb(_complete)(world)
        certificate = await adb(_issue)(world)
        comm = communicator("/ws/progress/", world.learner_session)
        await comm.connect()
        frames = await resume(comm, since)
        assert [frame["type"] for frame in frames] == ["progress.updated"] * 3 + ["certificates.issued", "resumed"]
        assert frames[3]["data"]["download_url"] == f"/p/certificates/{certificate.code}/download/"
        await comm.disconnect()

    run(scenario)


def test_revoking_pushes_certificates_revoked_to_the_learner_only(world: World) -> None:
    async def scenario() -> None:
        await adb(_complete)(world)
        certificate = await adb(_issue)(world)
        mine = communicator("/ws/progress/", world.learner_session)
        theirs = communicator("/ws/progress/", world.other_session)
        await mine.connect()
        await theirs.connect()
        now = await adb(latest_event_id)()
        await resume(mine, now)
        await resume(theirs, now)
        await adb(services.certificate_revoke)(certificate=certificate, by=world.staff, reason="Mistake")
        frame = await receive_event(mine)
        assert (frame["type"], frame["data"]["status"]) == ("certificates.revoked", "revoked")
        assert await theirs.receive_nothing() is True
        await mine.disconnect()
        await theirs.disconnect()

    run(scenario)


