"""The quiz lesson kind and learners' attempts.

``QuizLessonPage`` is a lesson (it subclasses ``courses.models.LessonPage``): listed, counted and
navigated like any lesson, hidden where the plugin is off for the course. Its inherited ``body``
is the quiz's introduction (what the lesson API shows as the body); its questions live in its own
``questions`` field, which is never indexed for search nor rendered as such: learners see only
``grading.public_questions`` before they submit.

A ``QuizAttempt`` keeps the questions it was started with, the answers, the results as graded
and the pass mark of that moment, so editing a quiz later changes no past score or pass.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.http import HttpRequest
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel
from wagtail.fields import StreamField
from wagtail.models import Page

from academy.sdk import LessonPage, format_percent
from plugins.quizzes.blocks import QuizQuestionsBlock

DEFAULT_PASS_MARK = 70
MAX_PERCENT = 100
#: A submission this late after the deadline still counts (the request was on its way).
SUBMIT_GRACE = timedelta(seconds=5)


class QuizLessonPage(LessonPage):
    """A graded quiz: introduction, questions, pass mark, attempt and time limits."""

    questions = StreamField(QuizQuestionsBlock(), help_text="Learners answer every question.")
    pass_mark = models.PositiveSmallIntegerField(
        default=DEFAULT_PASS_MARK, validators=[MaxValueValidator(MAX_PERCENT)],
        help_text="The score (percent of the points) that passes the quiz and completes the lesson.",
    )
    attempt_limit = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)],
        help_text="How many attempts a learner has; empty for unlimited.",
    )
    time_limit_minutes = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)],
        help_text="Minutes from starting an attempt to submitting it; empty for no limit.",
    )

    content_panels = [
        *Page.content_panels,
        FieldPanel("summary"),
        FieldPanel("estimated_minutes"),
        FieldPanel("body", heading="Introduction"),
        MultiFieldPanel(
            [
                FieldRowPanel([FieldPanel("pass_mark"), FieldPanel("grade_weight")]),
                FieldRowPanel([FieldPanel("attempt_limit"), FieldPanel("time_limit_minutes")]),
            ],
            heading="Grading",
        ),
        FieldPanel("questions"),
        *LessonPage.schedule_panels,
    ]
    # Inherited search fields only (title, summary, introduction): indexing the questions would
    # let search tell which words are accepted answers.
    parent_page_types = ["courses.CoursePage"]
    subpage_types: list[str] = []
    template = "quizzes/quiz_lesson_page.html"

    offers_mark_complete: ClassVar[bool] = False
    #: The best submitted attempt's percent is the learner's grade (``services.quiz_attempt_submit``).
    graded: ClassVar[bool] = True

    class Meta:
        verbose_name = "quiz"
        verbose_name_plural = "quizzes"

    def completion_gate(self, user: Any) -> str | None:
        """Completed only by a passing attempt (the progress service asks this in its transaction,
        so an attempt graded in the same transaction counts)."""
        if QuizAttempt.objects.filter(quiz_id=self.pk, user_id=getattr(user, "pk", None), passed=True).exists():
            return None
        return "Pass the quiz to complete this lesson."

    def get_context(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The lesson's context, and the visitor's attempts (one query; none for visitors)."""
        from plugins.quizzes.selectors import quiz_state

        context = super().get_context(request, *args, **kwargs)
        context["quiz"] = quiz_state(quiz=self, user=request.user)
        return context


class QuizAttempt(models.Model):
    """One learner's attempt at a quiz: started, then submitted once (or expired)."""

    quiz = models.ForeignKey(QuizLessonPage, on_delete=models.CASCADE, related_name="attempts")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quiz_attempts")
    course = models.ForeignKey(
        "courses.CoursePage", null=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The quiz's course when the attempt started.",
    )
    number = models.PositiveSmallIntegerField(help_text="1 for the learner's first attempt at this quiz, and so on.")
    started_at = models.DateTimeField()
    deadline = models.DateTimeField(null=True, blank=True, help_text="Submissions after this are refused.")
    submitted_at = models.DateTimeField(null=True, blank=True)
    questions = models.JSONField(help_text="The quiz's questions as they were when the attempt started.")
    pass_mark = models.PositiveSmallIntegerField(help_text="The quiz's pass mark when the attempt started.")
    answers = models.JSONField(default=dict, blank=True)
    results = models.JSONField(default=list, blank=True)
    score = models.PositiveIntegerField(null=True, blank=True)
    max_score = models.PositiveIntegerField(null=True, blank=True)
    percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    passed = models.BooleanField(default=False)

    class Meta:
        ordering = ["quiz", "user", "number"]
        constraints = [
            # With the enrollment row lock in quiz_attempt_start, this keeps the attempt limit
            # under concurrent starts: two attempts can never share a number.
            models.UniqueConstraint(fields=["quiz", "user", "number"], name="quizattempt_one_per_number"),
            models.CheckConstraint(condition=models.Q(number__gte=1), name="quizattempt_number_positive"),
        ]
        indexes = [models.Index(fields=["user", "quiz", "passed"], name="quizattempt_user_quiz_passed")]

    def __str__(self) -> str:
        return f"attempt {self.number} of user {self.user_id} at quiz {self.quiz_id}"

    @property
    def submitted(self) -> bool:
        """Whether the attempt was submitted (and graded)."""
        return self.submitted_at is not None

    def expired_at(self, moment: Any) -> bool:
        """Whether the attempt can no longer be submitted at ``moment``: not submitted, and past
        its deadline (and the grace for a request on its way)."""
        return self.submitted_at is None and self.deadline is not None and moment > self.deadline + SUBMIT_GRACE

    @property
    def percent_label(self) -> str:
        """The score as people read it ("80%", "0%", "83.33%"); "-" before submitting."""
        return format_percent(self.percent)

    def question_stream(self) -> Any:
        """The questions this attempt was started with, as Wagtail block values."""
        return QuizQuestionsBlock().to_python(self.questions)
