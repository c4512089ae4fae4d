from django import forms

from apps.reports.models import Goal


class GoalCreateForm(forms.Form):
    prefix = "goal"

    name = forms.CharField(max_length=Goal.NAME_LENGTH)
    kind = forms.ChoiceField(choices=Goal.KINDS, widget=forms.RadioSelect, initial=Goal.PAGEVIEW)
    path_pattern = forms.CharField(
        required=False,
        max_length=Goal.PATH_PATTERN_LENGTH,
        help_text="Pageview goals: /pricing, /blog/*, /docs/**.",
    )
    event_type = forms.CharField(
        required=False,
        max_length=Goal.EVENT_TYPE_LENGTH,
        help_text="Custom-event goals: the event's type, as signup.",
    )
    properties = forms.CharField(
        required=False,
        help_text="Custom-event goals, optional: properties the event must carry, one key=value per line (plan=pro).",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    currency = forms.CharField(
        required=False,
        max_length=3,
        help_text="Custom-event goals, optional: a currency (EUR) counts the revenue its events send in data.revenue.",
    )

    def clean_properties(self) -> dict[str, str]:
        found = {}
        for n, line in enumerate(self.cleaned_data["properties"].splitlines(), start=1):
            if line.strip():
                key, equals, value = line.partition("=")
                if not equals or not key.strip():
                    raise forms.ValidationError(f"Line {n}: write key=value.")
                found[key.strip()] = value.strip()
        return found
