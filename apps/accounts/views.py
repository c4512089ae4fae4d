"""The account pages: sign-up, sign-in, passwords, and accepting an invitation."""

from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from apps.accounts import services
from apps.accounts.forms import InvitedSignUpForm, LoginForm, PasswordResetForm, SignUpForm
from apps.core.api import ApplicationError
from apps.core.throttle import address_budget

# Signing in a user just created: the session records the backend that loads them on later requests
# (axes's backend only refuses locked-out credentials; it loads no one).
SESSION_BACKEND = "django.contrib.auth.backends.ModelBackend"

login_view = auth_views.LoginView.as_view(authentication_form=LoginForm, redirect_authenticated_user=True)
password_reset_view = address_budget("password-reset", "CLICKMETER_ANONYMOUS_FORM_RATE", methods=("POST",))(
    auth_views.PasswordResetView.as_view(form_class=PasswordResetForm)
)


def _form_error_add(form, error: ApplicationError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


@require_http_methods(["GET", "POST"])
@address_budget("signup", "CLICKMETER_ANONYMOUS_FORM_RATE", methods=("POST",))
def signup(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = SignUpForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_sign_up(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                organization_name=form.cleaned_data["organization_name"],
            )
        except ApplicationError as error:
            _form_error_add(form, error)
        else:
            login(request, user, backend=SESSION_BACKEND)
            return redirect("home")
    return render(request, "accounts/signup.html", {"form": form})


def _invitation_invalid(request, error: services.InvalidInvitation):
    return render(request, "accounts/invitation_invalid.html", {"message": error.message}, status=404)


@require_http_methods(["GET", "POST"])
def invitation_accept(request, token: str):
    """Show an invitation; accept it as the invited user, or create that user through it."""
    try:
        invitation = services.invitation_resolve(token)
    except services.InvalidInvitation as error:
        return _invitation_invalid(request, error)
    context: dict[str, Any] = {"invitation": invitation}
    user = request.user
    if user.is_authenticated:
        context["is_invitee"] = is_invitee = user.email.lower() == invitation.email
        if request.method == "POST":
            if not is_invitee:
                return render(request, "accounts/invitation.html", context, status=403)
            try:
                membership = services.invitation_accept(token=token, user=user)
            except services.InvalidInvitation as error:
                return _invitation_invalid(request, error)
            messages.success(request, f"You are now a member of {membership.organization.name}.")
            return redirect("home")
        return render(request, "accounts/invitation.html", context)

    form = InvitedSignUpForm(request.POST if request.method == "POST" else None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_sign_up_invited(token=token, password=form.cleaned_data["password"])
        except services.InvalidInvitation as error:
            return _invitation_invalid(request, error)
        except ApplicationError as error:
            _form_error_add(form, error)
        else:
            login(request, user, backend=SESSION_BACKEND)
            messages.success(request, f"Welcome! You are now a member of {invitation.organization.name}.")
            return redirect("home")
    context["form"] = form
    return render(request, "accounts/invitation.html", context)
