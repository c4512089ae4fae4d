import re

from django import forms

from apps.reports.models import Funnel
from apps.reports.queries.funnels import MAX_STEP_VALUE_LENGTH, MAX_STEPS, MAX_WINDOW_DAYS, PAGE_STEP

WITHIN_VISIT, WITHIN_DAYS = "visit", "days"
# A service's field for a step (steps[1].value) and the form's (step_2_value).
STEP_FIELD = re.compile(r"steps\[(\d+)\](?:\.(kind|value))?")


class FunnelCreateForm(forms.Form):
    """A funnel's name, up to MAX_STEPS rows of a step's kind and value (blank rows are skipped) and
    its window; funnel_create checks the steps as the engine reads them."""

    prefix = "funnel"

    name = forms.CharField(max_length=Funnel.NAME_LENGTH)
    window = forms.ChoiceField(
        choices=[(WITHIN_VISIT, "Within one visit"), (WITHIN_DAYS, "Within a number of days of the first step")],
        widget=forms.RadioSelect,
        initial=WITHIN_VISIT,
        label="Steps taken",
    )
    window_days = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_WINDOW_DAYS, label="Days", help_text=f"1 to {MAX_WINDOW_DAYS}."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for n in range(1, MAX_STEPS + 1):
            self.fields[f"step_{n}_kind"] = forms.ChoiceField(
                choices=Funnel.STEP_KINDS, initial=PAGE_STEP, label=f"Step {n}: kind"
            )
            self.fields[f"step_{n}_value"] = forms.CharField(
                required=False, max_length=MAX_STEP_VALUE_LENGTH, label=f"Step {n}: goal, page or event"
            )

    def step_rows(self) -> list[tuple[int, forms.BoundField, forms.BoundField]]:
        """Each step row's number, kind and value, for the template to lay out as a row."""
        return [(n, self[f"step_{n}_kind"], self[f"step_{n}_value"]) for n in range(1, MAX_STEPS + 1)]

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        if (
            cleaned.get("window") == WITHIN_DAYS
            and cleaned.get("window_days") is None
            and "window_days" not in self.errors
        ):
            self.add_error("window_days", "Say within how many days.")
        return cleaned

    def service_arguments(self) -> dict:
        """funnel_create's arguments from the valid form."""
        cleaned = self.cleaned_data
        steps = [
            {"kind": cleaned[f"step_{n}_kind"], "value": cleaned[f"step_{n}_value"].strip()}
            for n in range(1, MAX_STEPS + 1)
            if cleaned[f"step_{n}_value"].strip()
        ]
        window_days = cleaned["window_days"] if cleaned["window"] == WITHIN_DAYS else None
        return {"name": cleaned["name"], "steps": steps, "window_days": window_days}

    def refusal_add(self, field: str | None, message: str) -> None:
        """Show a refusal of funnel_create on the form field it names (its steps counted without blank rows)."""
        match = STEP_FIELD.fullmatch(field or "")
        if match:
            filled = [n for n in range(1, MAX_STEPS + 1) if self.cleaned_data[f"step_{n}_value"].strip()]
            index = int(match[1])
            row = filled[index] if index < len(filled) else None
            field = f"step_{row}_{match[2] or 'value'}" if row else None
        self.add_error(field if field in self.fields else None, message)
