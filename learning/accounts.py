"""Account views that Django does not ship: sign-up, the password-reset form that queues its
email, "log out everywhere", and the password change that keeps its new session on record.
Login, logout and the rest of the reset flow are Django's own views
(``django.contrib.auth.urls``), with our templates."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model, login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordResetForm, UserCreationForm
from django.contrib.auth.views import PasswordChangeView, PasswordResetView
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from learning.sessions import session_record, sessions_end_all
from siteconfig.tasks_backend import enqueue


class SignupForm(UserCreationForm):
    """Username, email and password; the email must not belong to another account."""

    email = forms.EmailField(required=True, help_text="We send enrollment updates and password resets here.")

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    def clean_email(self) -> str:
        """Refuse an email address that another account already uses (case-insensitive)."""
        email = self.cleaned_data["email"].strip().lower()
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this email already exists. Try logging in.")
        return email


def safe_next_url(request: HttpRequest, default: str) -> str:
    """The ``next`` parameter if it points to this site, else ``default`` (no open redirect)."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


@sensitive_post_parameters("password1", "password2")
def signup(request: HttpRequest) -> HttpResponse:
    """Create an account, log the new learner in and send them on (to ``next`` or the dashboard)."""
    if request.user.is_authenticated:
        return redirect(safe_next_url(request, "/dashboard/"))
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                user = form.save()
        except IntegrityError:
            # A double click or a second tab won the race for the same username.
            form.add_error("username", "A user with that username already exists.")
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect(safe_next_url(request, "/dashboard/"))
    status = 400 if request.method == "POST" else 200
    return render(request, "registration/signup.html", {"form": form, "next": safe_next_url(request, "")}, status=status)


class QueuedPasswordResetForm(PasswordResetForm):
    """Django's reset form, but the email is sent by the task worker: the request only queues
    ``learning.tasks.send_password_reset_email`` with the user's id and a request id (no token,
    no address: the worker makes the token and reads the address), and answers at once."""

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        """Queue the reset email for ``context["user"]`` instead of talking to SMTP."""
        enqueue(
            "learning.tasks.send_password_reset_email",
            user_id=context["user"].pk,
            request_id=uuid.uuid4().hex,
        )


class QueuedPasswordResetView(PasswordResetView):
    """Django's reset view with :class:`QueuedPasswordResetForm`; an invalid address is a 400."""

    form_class = QueuedPasswordResetForm
    success_url = reverse_lazy("password_reset_done")

    def form_invalid(self, form: PasswordResetForm) -> HttpResponse:
        """Show the form again with its errors, as a 400 (bad input is a client error)."""
        response = super().form_invalid(form)
        response.status_code = 400
        return response


password_reset = QueuedPasswordResetView.as_view()


class RecordedPasswordChangeView(PasswordChangeView):
    """Django's password change: every other session ends (their auth hash no longer matches,
    and their sockets close); the current one continues under a new key, recorded here so that
    "log out everywhere" still finds it."""

    def form_valid(self, form: Any) -> HttpResponse:
        """Change the password, then record the session's new key."""
        response = super().form_valid(form)
        session_record(user=form.user, session_key=self.request.session.session_key)
        return response


password_change = RecordedPasswordChangeView.as_view()


@require_POST
@login_required
def logout_everywhere(request: HttpRequest) -> HttpResponse:
    """POST: end every session of the user, on every device, this one included; every open
    socket closes at once. Back to the login page."""
    ended = sessions_end_all(user=request.user, current_session_key=request.session.session_key)
    logout(request)
    messages.success(request, f"You were logged out everywhere ({ended} session{'s' if ended != 1 else ''}).")
    return redirect("login")
