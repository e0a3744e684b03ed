"""Certificates, their rendered PDFs, the learner's "name on certificates" and a course's own
title line and signature.

Thin models: every write goes through ``plugins.certificates.services``.

A certificate is a snapshot taken when it is issued (and again when staff reissue it): the name,
course title, title line, signature and issuer printed on it do not change when the course or the
account does. Its ``code`` never changes. ``revision`` counts (re)issues; the PDF of a revision
is stored once rendered (``rendered_revision == revision`` means the download is ready).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

# 20 random bytes in lowercase base32: 32 characters from a-z2-7 (160 bits).
CODE_LENGTH = 32
CODE_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
NAME_MAX_LENGTH = 120


class Certificate(models.Model):
    """One learner's certificate for one course (one row per learner and course, ever)."""

    wagtail_reference_index_ignore = True

    class Status(models.TextChoices):
        VALID = "valid", "Valid"
        REVOKED = "revoked", "Revoked"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="certificates")
    course = models.ForeignKey("courses.CoursePage", on_delete=models.CASCADE, related_name="+")
    code = models.CharField(max_length=CODE_LENGTH, unique=True, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.VALID)
    # The snapshot printed on the certificate and shown by the verify page.
    learner_name = models.CharField(max_length=NAME_MAX_LENGTH)
    course_title = models.CharField(max_length=255)
    title_line = models.CharField(max_length=200)
    signature_name = models.CharField(max_length=NAME_MAX_LENGTH, blank=True)
    issuer = models.CharField(max_length=200)
    completed_on = models.DateField()
    issued_at = models.DateTimeField(auto_now_add=True)
    # Reissues bump the revision; the stored PDF is the one of ``rendered_revision``.
    revision = models.PositiveIntegerField(default=1)
    rendered_revision = models.PositiveIntegerField(default=0)
    reissued_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.TextField(blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "course"], name="certificate_one_per_user_and_course"),
        ]
        indexes = [models.Index(fields=["rendered_revision", "updated_at"], name="certificate_render_state")]
        ordering = ["-issued_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.learner_name}: {self.course_title} ({self.status})"

    @property
    def is_ready(self) -> bool:
        """Whether the PDF of the current revision is stored (the download works)."""
        return self.rendered_revision == self.revision

    @property
    def is_valid(self) -> bool:
        """Whether the certificate stands (not revoked)."""
        return self.status == self.Status.VALID


class CertificatePdf(models.Model):
    """The rendered PDF of a certificate (kept apart so listing certificates never loads it).

    Stored in the database: a certificate is a few kilobytes, every web process and worker sees
    it at once (no shared volume), and it is written in the same transaction that marks the
    certificate ready, so a worker killed mid-render leaves no half file.
    """

    certificate = models.OneToOneField(Certificate, on_delete=models.CASCADE, primary_key=True, related_name="pdf")
    revision = models.PositiveIntegerField()
    content = models.BinaryField()
    rendered_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"PDF of certificate {self.certificate_id} (revision {self.revision})"


class CertificateName(models.Model):
    """A learner's account setting: the name printed on their certificates (blank: the default,
    their full name or else their username)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="certificate_name"
    )
    name = models.CharField("name on certificates", max_length=NAME_MAX_LENGTH, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class CourseCertificateSettings(models.Model):
    """A course's own title line and signature name on its certificates (defaults otherwise), and
    whether a certificate needs the course's pass grade."""

    course = models.OneToOneField(
        "courses.CoursePage", on_delete=models.CASCADE, primary_key=True, related_name="+",
        help_text="The course these settings apply to.",
    )
    title_line = models.CharField(
        max_length=200, blank=True,
        help_text='The heading of the certificate, e.g. "Certificate of Achievement" (default: "Certificate of Completion").',
    )
    signature_name = models.CharField(
        max_length=NAME_MAX_LENGTH, blank=True, help_text="The name printed on the signature line (none when blank).",
    )
    require_pass_grade = models.BooleanField(
        "require the course's pass grade", default=False,
        help_text="Issue the certificate only when the learner's course grade reaches the course's pass grade "
        "(set on the course page); checked on completion and again whenever a grade changes.",
    )

    class Meta:
        verbose_name = "course certificate settings"
        verbose_name_plural = "course certificate settings"

    def __str__(self) -> str:
        return f"Certificate settings of {self.course}"
