"""Discussions' data: threads (of a lesson, or of a whole course), their posts (the opening post
and the replies), edit history, votes, follows, reports, the moderation log, per-course settings
and the email digest's bookkeeping.

Every rule about who may read or write lives in :mod:`plugins.discussions.services` (which asks
core's access policy through ``academy.sdk``); these are plain rows. Counters (``vote_count``,
``reply_count``) are recomputed from their rows inside the writing transaction, so concurrent
votes never drift; the unique constraints make a vote, a follow and a report one per person.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class CourseSettings(models.Model):
    """Per-course discussion settings (staff set them in the queue screen)."""

    course = models.OneToOneField("courses.CoursePage", on_delete=models.CASCADE, related_name="+")
    premoderate_first_posts = models.BooleanField(
        default=False, help_text="Hold a learner's first post in this course until staff approve it."
    )
    scope_by_cohort = models.BooleanField(
        default=False, help_text="Learners see only the threads started in their own cohort (staff see all)."
    )

    def __str__(self) -> str:
        return f"discussion settings of course {self.course_id}"


class Thread(models.Model):
    """A question or a discussion, on one lesson (``lesson`` set) or on the whole course."""

    class Kind(models.TextChoices):
        QUESTION = "question", "Question"
        DISCUSSION = "discussion", "Discussion"

    course = models.ForeignKey("courses.CoursePage", on_delete=models.CASCADE, related_name="+")
    lesson = models.ForeignKey("courses.LessonPage", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    cohort_id = models.BigIntegerField(null=True, blank=True, help_text="Set when the course scopes threads by cohort.")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.QUESTION)
    title = models.CharField(max_length=200)
    opening = models.OneToOneField("Post", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    pinned = models.BooleanField(default=False)
    locked = models.BooleanField(default=False)
    hidden = models.BooleanField(default=False)
    deleted = models.BooleanField(default=False)
    pending = models.BooleanField(default=False, help_text="Held for approval (pre-moderation).")
    answered_post = models.ForeignKey("Post", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    answered_at = models.DateTimeField(null=True, blank=True)
    first_staff_reply_at = models.DateTimeField(null=True, blank=True)
    vote_count = models.IntegerField(default=0, help_text="Votes on the opening post.")
    reply_count = models.IntegerField(default=0, help_text="Visible replies.")
    created_at = models.DateTimeField()
    last_activity_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["lesson", "pinned", "last_activity_at"], name="disc_thread_lesson"),
            models.Index(fields=["course", "kind", "first_staff_reply_at"], name="disc_thread_queue"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def answered(self) -> bool:
        """Whether the asker or staff marked a reply as the answer."""
        return self.answered_post_id is not None

    @property
    def removed(self) -> bool:
        """Hidden or deleted by staff."""
        return self.hidden or self.deleted


class Post(models.Model):
    """One message of a thread: its opening post or a reply (optionally quoting another post)."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="posts")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    body = models.TextField(help_text="Markdown, as written.")
    body_html = models.TextField(help_text="The Markdown rendered and sanitised.")
    quoted = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    by_staff = models.BooleanField(default=False, help_text="Written by the course's staff: shown as a staff answer.")
    hidden = models.BooleanField(default=False)
    deleted = models.BooleanField(default=False)
    pending = models.BooleanField(default=False)
    vote_count = models.IntegerField(default=0)
    created_at = models.DateTimeField()
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["thread", "created_at"], name="disc_post_thread")]

    def __str__(self) -> str:
        return f"post {self.pk} of thread {self.thread_id}"

    @property
    def removed(self) -> bool:
        """Hidden or deleted by staff."""
        return self.hidden or self.deleted


class Revision(models.Model):
    """An earlier version of a post, kept when its author edits it."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="revisions")
    title = models.CharField(max_length=200, blank=True, help_text="The thread's title then (opening posts).")
    body = models.TextField()
    replaced_at = models.DateTimeField()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"revision of post {self.post_id}"


class Vote(models.Model):
    """One person's upvote of one post (the unique constraint makes it one)."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "user"], name="discussions_vote_once")]

    def __str__(self) -> str:
        return f"vote of {self.user_id} on post {self.post_id}"


class Follow(models.Model):
    """Someone following a thread: a notification per reply, and the digest."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="follows")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["thread", "user"], name="discussions_follow_once")]

    def __str__(self) -> str:
        return f"{self.user_id} follows thread {self.thread_id}"


class Report(models.Model):
    """A reader's report of a post, for staff to look at."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "reporter"], name="discussions_report_once")]

    def __str__(self) -> str:
        return f"report of post {self.post_id}"


class ModerationAction(models.Model):
    """The audit log: what staff did to which thread or post, and why."""

    class Action(models.TextChoices):
        HIDE = "hide", "Hidden"
        UNHIDE = "unhide", "Shown again"
        DELETE = "delete", "Deleted"
        LOCK = "lock", "Locked"
        UNLOCK = "unlock", "Unlocked"
        PIN = "pin", "Pinned"
        UNPIN = "unpin", "Unpinned"
        APPROVE = "approve", "Approved"

    course = models.ForeignKey("courses.CoursePage", on_delete=models.CASCADE, related_name="+")
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(Post, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=20, choices=Action.choices)
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"{self.action} of thread {self.thread_id}"


class DigestItem(models.Model):
    """A reply to tell a follower about in their next email digest."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    digest = models.ForeignKey("Digest", null=True, blank=True, on_delete=models.SET_NULL, related_name="items")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "post"], name="discussions_digest_item_once")]
        indexes = [models.Index(fields=["digest", "user"], name="disc_digest_pending")]

    def __str__(self) -> str:
        return f"digest item of post {self.post_id} for {self.user_id}"


class Digest(models.Model):
    """One email digest: at most one per user and period (the constraint is the claim)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    period = models.CharField(max_length=20, help_text="The period's start, e.g. 2026-12-04.")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "period"], name="discussions_digest_once")]

    def __str__(self) -> str:
        return f"digest {self.period} for {self.user_id}"
