"""Account views that Django does not ship: sign-up, the password-reset form that queues its
email, "log out everywhere", and the password change that keeps its new session on record.
Login, logout and the rest of the reset flow are Django's own views
(``django.contrib.auth.urls``), with our templates.

Rate limits (academy/ratelimit.py): sign-up posts per client address (429 past it, default
120 in 10 minutes so a class of 60 joins in one lesson; fails open when the store is down); password-reset posts per client address (429) and per
email address. Past the per-email limit the request sends nothing but answers exactly as a sent
one does, so the answer never tells whether an address exists or is being flooded. Password
reset fails closed (503) when the store is down: unlimited reset emails are the abuse it stops."""

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
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from wagtail.admin.views.account import PasswordResetView as WagtailPasswordResetView

from academy import ratelimit
from academy.tasks import enqueue
from learning import oauth, tokens
from learning.sessions import session_record, sessions_end_all, user_sessions

# Where the sign-up view keeps a course invitation's token between the link and the form post.
INVITE_SESSION_KEY = "academy_invite"
INVITE_TOKEN_MAX_LENGTH = 64


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
    """The ``next`` parameter if it is a path on this site, else ``default``.

    Only an absolute local path passes ("/courses/"): no other host or scheme (open redirect),
    and no bare word ("0", "dashboard"), which ``redirect()`` would try to reverse as a URL name
    (a 500 when there is none). Callers redirect with ``HttpResponseRedirect``, never
    ``redirect()``, so the value is never taken for a view name."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if (
        candidate.startswith("/")
        and not candidate.startswith(("//", "/\\"))
        and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return candidate
    return default


@sensitive_post_parameters("password1", "password2")
def signup(request: HttpRequest) -> HttpResponse:
    """Create an account, log the new learner in and send them on (to ``next`` or the dashboard)."""
    if request.user.is_authenticated:
        return HttpResponseRedirect(safe_next_url(request, "/dashboard/"))
    invite = request.GET.get("invite", "")
    if invite and len(invite) <= INVITE_TOKEN_MAX_LENGTH:
        # Kept in the session: the sign-up form posts without it.
        request.session[INVITE_SESSION_KEY] = invite
    if request.method == "POST":
        # Counted before the form is read: over the limit, nothing is validated or looked up.
        decision = ratelimit.check([ratelimit.limit("signup_address", ratelimit.client_address(request))], door="signup")
        if not decision.allowed:
            return ratelimit.refusal_response(
                request, decision, message="Too many sign-up attempts from your network."
            )
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                user = form.save()
        except IntegrityError:
            # A double click or a second tab won the race for the same username.
            form.add_error("username", "A user with that username already exists.")
        else:
            token = request.session.pop(INVITE_SESSION_KEY, "")
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            if token:
                from learning.bulk import invitation_accept

                enrollment = invitation_accept(user=user, token=token)
                if enrollment is not None:
                    messages.success(request, f"Welcome! You are enrolled in {enrollment.course.title}.")
            return HttpResponseRedirect(safe_next_url(request, "/dashboard/"))
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


class RateLimitedPasswordResetMixin:
    """Password-reset limits for a Django ``PasswordResetView``: every post counts against the
    client address (429 past it); a valid one counts against its email address, and past that
    limit nothing is sent but the answer is the one a sent reset gets."""

    request: HttpRequest

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """Count the request against the client address first (429 past the limit)."""
        decision = ratelimit.check(
            [ratelimit.limit("reset_address", ratelimit.client_address(request))], door="password_reset"
        )
        if not decision.allowed:
            return ratelimit.refusal_response(
                request, decision, message="Too many password reset requests from your network."
            )
        return super().post(request, *args, **kwargs)  # type: ignore[misc]

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        """Send (or queue) the email unless this address had its share; answer the same either way."""
        email = form.cleaned_data["email"].strip().casefold()
        decision = ratelimit.check([ratelimit.limit("reset_email", email)], door="password_reset")
        if decision.unavailable and not decision.allowed:
            return ratelimit.refusal_response(self.request, decision, message="")
        if not decision.allowed:
            # Exactly what a sent reset answers (PasswordResetView.form_valid's redirect), so the
            # response does not reveal that this address is being limited.
            return HttpResponseRedirect(self.get_success_url())  # type: ignore[attr-defined]
        return super().form_valid(form)  # type: ignore[misc]


class QueuedPasswordResetView(RateLimitedPasswordResetMixin, PasswordResetView):
    """Django's reset view with :class:`QueuedPasswordResetForm`; an invalid address is a 400."""

    form_class = QueuedPasswordResetForm
    success_url = reverse_lazy("password_reset_done")

    def form_invalid(self, form: PasswordResetForm) -> HttpResponse:
        """Show the form again with its errors, as a 400 (bad input is a client error)."""
        response = super().form_invalid(form)
        response.status_code = 400
        return response


class AdminPasswordResetView(RateLimitedPasswordResetMixin, WagtailPasswordResetView):
    """Wagtail's admin reset view (/admin/password_reset/) under the same limits: another door
    that sends reset emails."""


password_reset = QueuedPasswordResetView.as_view()
admin_password_reset = AdminPasswordResetView.as_view()


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


# --- Personal access tokens (the API's token authentication) -------------------------------------

EXPIRY_CHOICES = [("", "Never"), ("7", "7 days"), ("30", "30 days"), ("90", "90 days"), ("365", "1 year")]


class TokenForm(forms.Form):
    """Name and expiry of a new personal access token."""

    name = forms.CharField(max_length=tokens.NAME_MAX, help_text="What the token is for, e.g. 'grading script'.")
    expires_in_days = forms.TypedChoiceField(
        choices=EXPIRY_CHOICES, coerce=int, empty_value=None, required=False, label="Expires after",
    )


@login_required
def access_tokens(request: HttpRequest) -> HttpResponse:
    """The account page's API tokens: list (name, start of the token, created, expiry, last use),
    make one (POST: the new token is shown in this response only, never again) and revoke."""
    form = TokenForm(request.POST or None)
    new_token = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                new_token = tokens.token_create(
                    user=request.user, name=form.cleaned_data["name"],
                    expires_in_days=form.cleaned_data["expires_in_days"],
                )
            except tokens.TokenError as exc:
                form.add_error(None, exc.message)
        if new_token is None:
            status = 400
        else:
            form = TokenForm()
    response = render(
        request,
        "learning/tokens.html",
        {"form": form, "new_token": new_token, "tokens": tokens.user_tokens(user_id=request.user.pk),
         "login_sessions": user_sessions(user_id=request.user.pk), "current_session_key": request.session.session_key},
        status=status,
    )
    if new_token is not None:
        # The page holds a secret: no cache (browser or proxy) may keep it.
        response["Cache-Control"] = "no-store"
    return response


@require_POST
@login_required
def access_token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    """POST: delete one of the user's tokens (scripts using it get 401 at once)."""
    if tokens.token_revoke(user=request.user, token_id=token_id):
        messages.success(request, "Token revoked.")
    else:
        messages.info(request, "That token was already revoked.")
    return redirect("access_tokens")


# --- Apps the user authorised (OAuth 2; learning.oauth) ---------------------------------------------


@login_required
def oauth_apps(request: HttpRequest) -> HttpResponse:
    """The account page's apps: those holding an OAuth grant of the user, with the scopes they
    were given and since when, each with a Revoke button."""
    return render(request, "learning/oauth_apps.html",
                  {"authorizations": oauth.user_authorizations(user_id=request.user.pk)})


@require_POST
@login_required
def oauth_app_revoke(request: HttpRequest, application_id: int) -> HttpResponse:
    """POST: take back the user's authorisation of an app (its calls get 401 at once)."""
    if oauth.authorization_revoke(user=request.user, application_id=application_id):
        messages.success(request, "Access revoked: the app can no longer use your account.")
    else:
        messages.info(request, "That app already had no access.")
    return redirect("oauth_apps")
