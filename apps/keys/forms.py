from django import forms

from apps.keys.models import ApiKey


class ApiKeyCreateForm(forms.Form):
    prefix = "key"

    kind = forms.ChoiceField(choices=ApiKey.Kind.choices)
    name = forms.CharField(max_length=ApiKey._meta.get_field("name").max_length, required=False)
