"""Demo content of discussions (``manage.py seed_demo`` calls ``seed_demo``): a few threads on
the first lesson of the demo's pytest course, one answered by staff, one still waiting in the
staff queue. Their authors are demo accounts without a usable password (they cannot log in)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from academy.sdk import CourseIndexPage, CoursePage, LessonPage
from plugins.discussions import markdown
from plugins.discussions.models import Follow, Post, Thread

COURSE_SLUG = "python-testing-with-pytest"
AUTHORS = (("demo-maria", "Maria", "Rossi", False), ("demo-tom", "Tom", "Okafor", False), ("demo-staff", "Sam", "Teacher", True))

THREADS: list[dict[str, Any]] = [
    {"author": "demo-maria", "kind": "question", "title": "Why does pytest not find my tests?", "hours": 30,
     "body": "I named my file `mytests.py` and `pytest` says *no tests ran*. What am I missing?",
     "replies": [("demo-staff", "pytest collects files named `test_*.py` or `*_test.py`. Rename it to "
                                "`test_mine.py` and it will be found.", 28),
                 ("demo-tom", "> Rename it to `test_mine.py`\n\nThat fixed it for me too, thanks!", 20)],
     "answered_by": 0},
    {"author": "demo-tom", "kind": "question", "title": "Can a fixture use another fixture?", "hours": 5,
     "body": "I would like my `client` fixture to reuse the `db` fixture. Is that allowed?", "replies": []},
    {"author": "demo-maria", "kind": "discussion", "title": "Share your favourite pytest plugin", "hours": 50,
     "body": "Mine is **pytest-xdist**: it runs the suite on every core.",
     "replies": [("demo-tom", "pytest-randomly: it finds tests that depend on their order.", 40)]},
]


def _authors() -> dict[str, Any]:
    users = {}
    model = get_user_model()
    for username, first, last, staff in AUTHORS:
        user = model.objects.filter(username=username).first()
        if user is None:
            user = model(username=username, first_name=first, last_name=last, email=f"{username}@example.com", is_staff=staff)
            user.set_unusable_password()
            user.save()
        users[username] = user
    return users


def seed_demo(*, catalog: CourseIndexPage, stdout: Any) -> None:
    """Add (once) the demo threads to the first lesson of the demo pytest course."""
    course = CoursePage.objects.child_of(catalog).filter(slug=COURSE_SLUG).first()
    lesson = LessonPage.objects.child_of(course).order_by("path").first() if course is not None else None
    if lesson is None or Thread.objects.filter(course_id=course.pk).exists():
        return
    users = _authors()
    now = timezone.now()
    for spec in THREADS:
        asked = now - timedelta(hours=spec["hours"])
        thread = Thread.objects.create(
            course_id=course.pk, lesson_id=lesson.pk, author=users[spec["author"]], kind=spec["kind"], title=spec["title"],
            created_at=asked, last_activity_at=asked,
        )
        opening = Post.objects.create(thread=thread, author=users[spec["author"]], body=spec["body"],
                                      body_html=markdown.render(spec["body"]), created_at=asked)
        replies = []
        for author, body, hours in spec["replies"]:
            at = now - timedelta(hours=hours)
            replies.append(Post.objects.create(thread=thread, author=users[author], body=body, body_html=markdown.render(body),
                                               by_staff=author == "demo-staff", created_at=at))
            thread.last_activity_at = at
            if author == "demo-staff" and thread.first_staff_reply_at is None:
                thread.first_staff_reply_at = at
        thread.opening = opening
        thread.reply_count = len(replies)
        if "answered_by" in spec:
            thread.answered_post = replies[spec["answered_by"]]
            thread.answered_at = thread.answered_post.created_at
        thread.save()
        Follow.objects.get_or_create(thread=thread, user=users[spec["author"]])
    stdout.write(f"discussions: {len(THREADS)} demo threads on “{lesson.title}”")
