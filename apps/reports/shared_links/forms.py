from django import forms

from apps.reports.models import SharedLink


class SharedLinkCreateForm(forms.Form):
    prefix = "link"

    name = forms.CharField(
        max_length=SharedLink._meta.get_field("name").max_length,
        help_text="For you, to tell links apart; visitors do not see it.",
    )
    password = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Optional: visitors must enter it to see the dashboard.",
    )


class SharedLinkPasswordForm(forms.Form):
    password = forms.CharField(strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
