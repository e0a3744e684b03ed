"""Enrollments, lesson progress and notifications.

Models are thin: every write goes through ``learning.services``, which keeps the rules (one
enrollment per learner and course, progress only while enrolled, completion) in one place.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

# Wagtail's reference index ("where is this used?") is about content. modeladmin registration
# would index these rows too: a task per enrollment or progress write, for nothing an editor reads.


class Cohort(models.Model):
    """One run of a course (a section): its dates, its learners and its staff.

    Every course has a default cohort (made on first need by ``learning.cohorts``), where
    self-enrollment places learners. Its start date is the "start" of the lesson dates
    (``courses.models.ReleaseRule`` / ``DueRule``); without one, a learner's start is their
    enrollment.
    """

    wagtail_reference_index_ignore = True

    course = models.ForeignKey("courses.CoursePage", on_delete=models.CASCADE, related_name="cohorts")
    name = models.CharField(max_length=100)
    starts_on = models.DateField(null=True, blank=True, help_text="Empty: learners start when they enroll.")
    ends_on = models.DateField(null=True, blank=True, help_text="Empty: open-ended.")
    is_default = models.BooleanField(
        default=False, help_text="Self-enrollment places learners here. One per course."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["course", "-is_default", "starts_on", "name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["course", "name"], name="cohort_name_unique_in_course"),
            models.UniqueConstraint(
                fields=["course"], condition=models.Q(is_default=True), name="cohort_one_default_per_course"
            ),
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True) | models.Q(starts_on__isnull=True)
                | models.Q(ends_on__gte=models.F("starts_on")),
                name="cohort_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CourseRole(models.Model):
    """A staff role in one course, or in one cohort of it: teachers manage the learners
    (enroll, approve, message, grade); assistants see them and grade. Editing the course's
    content stays with Wagtail's page permissions. ``learning.access`` is the one reader."""

    wagtail_reference_index_ignore = True

    class Role(models.TextChoices):
        TEACHER = "teacher", "Teacher"
        ASSISTANT = "assistant", "Assistant"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="course_roles")
    course = models.ForeignKey("courses.CoursePage", on_delete=models.CASCADE, related_name="staff_roles")
    cohort = models.ForeignKey(
        Cohort, null=True, blank=True, on_delete=models.CASCADE, related_name="staff_roles",
        help_text="Empty: every cohort of the course.",
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "course"], condition=models.Q(cohort__isnull=True), name="courserole_one_per_course"
            ),
            models.UniqueConstraint(
                fields=["user", "cohort"], condition=models.Q(cohort__isnull=False), name="courserole_one_per_cohort"
            ),
        ]
        indexes = [models.Index(fields=["user", "course"], name="courserole_user_course")]

    def __str__(self) -> str:
        return f"{self.get_role_display()} {self.user} in course {self.course_id}"


class Enrollment(models.Model):
    """A learner's place in a course. One row per learner and course, whatever happens."""

    wagtail_reference_index_ignore = True

    class Status(models.TextChoices):
        PENDING_APPROVAL = "pending_approval", "Pending approval"
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    # The statuses that open a course's lessons (progress, bodies, files, the course stream).
    # The one definition: ``learning.access`` and every query use it.
    ACCESS_STATUSES = frozenset({Status.ACTIVE, Status.COMPLETED})

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrollments")
    course = models.ForeignKey("courses.CoursePage", on_delete=models.CASCADE, related_name="enrollments")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING_APPROVAL)
    cohort = models.ForeignKey(
        Cohort, null=True, blank=True, on_delete=models.PROTECT, related_name="enrollments",
        help_text="The run of the course the learner is in (the course's default cohort unless staff chose).",
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The staff member who approved or cancelled the enrollment.",
    )
    # Cached read model of the learner's progress (kept by learning.services on every progress
    # write and by learning.services.refresh_progress_cache when course content is published),
    # so the dashboard and admin reports read it in one query whatever the enrollment count.
    completed_lessons = models.PositiveIntegerField(default=0)
    total_lessons = models.PositiveIntegerField(default=0)
    progress_percent = models.PositiveSmallIntegerField(default=0)
    next_lesson = models.ForeignKey(
        "courses.LessonPage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The first published lesson the learner has not completed.",
    )
    resume_lesson = models.ForeignKey(
        "courses.LessonPage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Where the learner left off: the last lesson they opened if unfinished, else the next one.",
    )
    last_activity_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "course"], name="enrollment_one_per_user_and_course"),
        ]
        indexes = [
            models.Index(fields=["user", "status"], name="enrollment_user_status"),
            models.Index(fields=["course", "status"], name="enrollment_course_status"),
            models.Index(fields=["status", "requested_at"], name="enrollment_status_requested"),
            models.Index(fields=["course", "last_activity_at"], name="enrollment_course_activity"),
            models.Index(fields=["course", "cohort", "status"], name="enrollment_course_cohort"),
        ]
        ordering = ["-requested_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.user} in {self.course_id} ({self.status})"

    @property
    def has_access(self) -> bool:
        """Whether the learner may open lessons and record progress."""
        return self.status in self.ACCESS_STATUSES


class LessonProgress(models.Model):
    """A learner's progress through one lesson. One row per learner and lesson."""

    wagtail_reference_index_ignore = True

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lesson_progress")
    lesson = models.ForeignKey("courses.LessonPage", on_delete=models.CASCADE, related_name="progress")
    # Denormalised from the lesson's parent so progress per course is one indexed query.
    course = models.ForeignKey("courses.CoursePage", on_delete=models.CASCADE, related_name="lesson_progress")
    completed_at = models.DateTimeField(null=True, blank=True)
    last_position = models.PositiveIntegerField(
        default=0, help_text="Where the learner stopped (percent of the lesson read)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "lesson"], name="progress_one_per_user_and_lesson"),
        ]
        indexes = [models.Index(fields=["user", "course", "updated_at"], name="progress_user_course")]
        verbose_name_plural = "lesson progress"

    def __str__(self) -> str:
        return f"{self.user} on lesson {self.lesson_id}"


class Grade(models.Model):
    """A learner's grade on one graded lesson (a lesson kind that declares itself graded).

    ``score`` is what the lesson kind reported (percent); ``override`` is staff's, with a reason
    (audited in Wagtail's log): the effective grade is the override when set. ``late`` is set
    when the graded work came in after the lesson's due date for that learner. Writes go
    through ``learning.gradebook``.
    """

    wagtail_reference_index_ignore = True

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="grades")
    lesson = models.ForeignKey("courses.LessonPage", on_delete=models.CASCADE, related_name="grades")
    course = models.ForeignKey("courses.CoursePage", on_delete=models.CASCADE, related_name="grades")
    score = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    late = models.BooleanField(default=False)
    override = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    override_reason = models.TextField(blank=True)
    overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    overridden_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "lesson"], name="grade_one_per_user_and_lesson"),
        ]
        indexes = [models.Index(fields=["course", "user"], name="grade_course_user")]

    def __str__(self) -> str:
        return f"grade of {self.user_id} on lesson {self.lesson_id}"

    @property
    def effective(self) -> Any:
        """The grade that counts: staff's override when set, else the score."""
        return self.override if self.override is not None else self.score


class DateReminder(models.Model):
    """A reminder sent to a learner about a lesson's date, so each is sent once."""

    wagtail_reference_index_ignore = True

    class Kind(models.TextChoices):
        DUE_SOON = "due_soon", "Due soon"
        OVERDUE = "overdue", "Overdue"
        RELEASED = "released", "Opened"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    lesson = models.ForeignKey("courses.LessonPage", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    due_at = models.DateTimeField(null=True, blank=True, help_text="The date it was about, when it was sent.")
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "lesson", "kind"], name="datereminder_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} reminder of lesson {self.lesson_id} to {self.user_id}"


class Notification(models.Model):
    """A message to one learner. Ids increase, so clients can resume after the last one seen."""

    wagtail_reference_index_ignore = True

    class Kind(models.TextChoices):
        ENROLLMENT_REQUESTED = "enrollment_requested", "Enrollment requested"
        ENROLLMENT_APPROVED = "enrollment_approved", "Enrollment approved"
        ENROLLMENT_CANCELLED = "enrollment_cancelled", "Enrollment cancelled"
        COURSE_COMPLETED = "course_completed", "Course completed"
        COURSE_UPDATED = "course_updated", "Course updated"
        ANNOUNCEMENT = "announcement", "Announcement"
        LESSON_DUE = "lesson_due", "Lesson due"
        LESSON_OVERDUE = "lesson_overdue", "Lesson overdue"
        GRADE_CHANGED = "grade_changed", "Grade changed"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=40, choices=Kind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]
        indexes = [
            models.Index(fields=["user", "-id"], name="notification_user_recent"),
            models.Index(fields=["user", "read_at"], name="notification_user_unread"),
        ]

    def __str__(self) -> str:
        return f"{self.title} for {self.user}"

    @property
    def is_read(self) -> bool:
        """Whether the learner has read the notification."""
        return self.read_at is not None


class LoginSession(models.Model):
    """A login session of a user, so that "log out everywhere" can end every one of them.

    Recorded on login (and when a password change gives the current session a new key),
    removed on logout; rows of sessions that expired are pruned with the expired sessions.
    Django's session table has no user column (its data is encoded), hence this index.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="login_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"session of {self.user_id} since {self.created_at:%Y-%m-%d %H:%M}"


class BulkEnrollment(models.Model):
    """A CSV of email addresses that staff uploaded to enroll (or unenroll) a course's learners.

    A task (``learning.tasks.run_bulk_enrollment``) works through it in chunks, updating
    ``processed_rows`` so the admin shows a progress bar, and leaves its result in ``report``:
    ``{"added": [emails], "already": [emails], "invited": [emails], "removed": [emails],
    "not_enrolled": [emails], "invalid": [[line, text, reason]]}``.
    """

    wagtail_reference_index_ignore = True

    class Mode(models.TextChoices):
        ENROLL = "enroll", "Enroll"
        UNENROLL = "unenroll", "Unenroll"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    course = models.ForeignKey("courses.CoursePage", on_delete=models.CASCADE, related_name="bulk_enrollments")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.ENROLL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    source = models.TextField(help_text="The uploaded CSV, as text.")
    cohort = models.ForeignKey(
        Cohort, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Where its learners are placed (a row's own cohort column first; else the default cohort).",
    )
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"bulk {self.mode} #{self.pk} in course {self.course_id}"

    @property
    def percent(self) -> int:
        """How far the task got (0-100)."""
        return 100 if self.status == self.Status.DONE else (self.processed_rows * 100 // self.total_rows if self.total_rows else 0)


class Invitation(models.Model):
    """An invitation to a course for an address without an account: its sign-up link carries
    ``token``; signing up with that address through the link enrolls the new learner."""

    wagtail_reference_index_ignore = True

    email = models.EmailField()
    course = models.ForeignKey("courses.CoursePage", on_delete=models.CASCADE, related_name="invitations")
    token = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    cohort = models.ForeignKey(
        Cohort, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Where the learner is placed on signing up (empty: the default cohort).",
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["email", "course"], name="invitation_one_per_email_and_course")]

    def __str__(self) -> str:
        return f"invitation of {self.email} to course {self.course_id}"


class CourseMessage(models.Model):
    """A message staff sent to the learners of a course (all, or a filtered subset), and the
    record of who it went to (``recipients``)."""

    wagtail_reference_index_ignore = True

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"

    course = models.ForeignKey("courses.CoursePage", on_delete=models.CASCADE, related_name="staff_messages")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    audience = models.CharField(max_length=30, help_text="The learner filter it was sent to.")
    subject = models.CharField(max_length=200)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    recipient_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"{self.subject} (course {self.course_id})"


class CourseMessageRecipient(models.Model):
    """One learner a course message went to: once per message and learner."""

    wagtail_reference_index_ignore = True

    message = models.ForeignKey(CourseMessage, on_delete=models.CASCADE, related_name="recipients")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    notification = models.ForeignKey(Notification, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "user"], name="message_once_per_learner")]

    def __str__(self) -> str:
        return f"message {self.message_id} to {self.user_id}"


class CourseProgressReport(Enrollment):
    """Proxy of ``Enrollment`` for the admin's per-course progress report (read-only, CSV export)."""

    class Meta:
        proxy = True
        verbose_name = "progress report row"
        verbose_name_plural = "progress report"


class PersonalAccessToken(models.Model):
    """A token a user made on their account page for scripts and apps calling the API.

    Only a SHA-256 digest of the token is stored (the token is 256 random bits, so a fast hash
    is enough: nothing to brute-force); the token itself is shown once, when it is made. Its
    first characters (``prefix``) stay visible so the user can tell their tokens apart.
    Revoking deletes the row. Writes go through ``learning.tokens``.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_tokens")
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. 'grading script'.")
    prefix = models.CharField(max_length=16, help_text="The token's first characters, to recognise it.")
    digest = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the token, hex.")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never expires.")
    last_used_at = models.DateTimeField(null=True, blank=True)
    scopes = models.JSONField(
        default=list, blank=True,
        help_text="What a service account's token may do (learning.tokens.SCOPES); empty for a "
        "personal token, which may do what its owner may.",
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "-created_at"], name="token_user_recent")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…) of {self.user_id}"


class CalendarFeed(models.Model):
    """A learner's secret calendar feed (iCal) of their lessons' due dates.

    The URL carries ``token`` (256 random bits) and nothing else: calendar apps fetch it without
    a session, so the token is the credential and is shown to its owner on their calendar page
    (it is kept as is, unlike API tokens: the page shows it again for copying). Regenerating
    replaces the token, which revokes the old URL. Writes go through ``learning.calendar``.
    """

    wagtail_reference_index_ignore = True

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed")
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(help_text="When this token was made (regenerating renews it).")

    def __str__(self) -> str:
        return f"calendar feed of {self.user_id}"
class ServiceAccount(models.Model):
    """An organisation-level account for machines (an HR or SIS sync), not a person: its user
    has no usable password (it cannot log in to the site) and acts only through tokens with
    scopes (``learning.tokens.service_token_create``). What it may do as staff is what its
    user's groups and permissions allow, as for anyone; site admins make it in the Wagtail
    admin (Settings > Service accounts)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="service_account")
    name = models.CharField(max_length=100, help_text="What it is, e.g. 'HR sync'.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class ExternalId(models.Model):
    """A user's id in another system (an HR or student information system): an integration
    finds, creates and updates people by it (``learning.integrations.external_user_put``), so
    running the same sync twice changes nothing. One id per user and system, and one user per
    id in a system."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="external_ids")
    system = models.SlugField(max_length=50, help_text="The other system's name, e.g. 'workday'.")
    external_id = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["system", "external_id"], name="external_id_unique_in_system"),
            models.UniqueConstraint(fields=["user", "system"], name="external_id_one_per_user_and_system"),
        ]

    def __str__(self) -> str:
        return f"{self.system}:{self.external_id}"
