import unicodedata

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import password_validation

from apps.accounts.models import User
from apps.accounts.services import password_reset_mail_queue


class _NewPasswordForm(forms.Form):
    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password_confirm = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        cleaned = super().clean()
        password, confirm = cleaned.get("password"), cleaned.get("password_confirm")
        if password and confirm and password != confirm:
            self.add_error("password_confirm", "The two passwords do not match.")
        return cleaned


class SignUpForm(_NewPasswordForm):
    """Parse a sign-up; the password rules and the free email are checked by `user_sign_up`."""

    email = forms.EmailField(label="Email", widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    organization_name = forms.CharField(
        label="Organisation name",
        max_length=200,
        help_text="Your team or company; you can invite others to it later.",
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )

    field_order = ["email", "password", "password_confirm", "organization_name"]


class InvitedSignUpForm(_NewPasswordForm):
    """Parse a sign-up through an invitation link: the email is the invited one and cannot change."""

    email = forms.EmailField(label="Email", disabled=True, required=False)

    field_order = ["email", "password", "password_confirm"]

    def __init__(self, data=None, *, email: str, **kwargs):
        super().__init__(data, initial={"email": email}, **kwargs)


class LoginForm(auth_forms.AuthenticationForm):
    username = auth_forms.UsernameField(label="Email", widget=forms.EmailInput(attrs={"autofocus": True}))


class PasswordResetForm(auth_forms.PasswordResetForm):
    def get_users(self, email):
        """Return the active accounts of `email`, including those without a usable password.

        Django skips accounts whose password is unusable (it assumes another system signs them in);
        here those are members an operator created without a password (`create_member`), and the
        reset link is how they choose their first one.
        """
        users = User.objects.filter(email__iexact=email, is_active=True)
        return (user for user in users if _casefold(user.email) == _casefold(email))

    def send_mail(self, subject_template_name, email_template_name, context, *args, **kwargs):
        """Queue the email for a task (which makes the link and retries), instead of sending it here: the
        form answers the same whether or not the mail server works."""
        password_reset_mail_queue(user=context["user"], domain=context["domain"], protocol=context["protocol"])


def _casefold(value: str) -> str:
    # As Django's own form: `iexact` alone would let look-alike Unicode addresses match.
    return unicodedata.normalize("NFKC", value).casefold()
