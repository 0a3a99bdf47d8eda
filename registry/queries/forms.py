"""HTML forms of the data-quality pages (input parsing only; the services enforce the rules)."""

from __future__ import annotations

from django import forms

from registry.queries.models import APPROVAL_MEANING, QueryStatus, ResponseReason


class RaiseQueryForm(forms.Form):
    field = forms.CharField(required=False, max_length=64, help_text="Empty: the query is about the whole form.")
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Question")


class AnswerForm(forms.Form):
    reason = forms.ChoiceField(choices=ResponseReason.choices, label="Response")
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Answer")
    value = forms.CharField(required=False, label="Corrected value",
                            help_text="Optional: the new value of the queried field (saved on the form with "
                                      "this answer as the reason for change).")
    expected_version = forms.IntegerField(required=False, widget=forms.HiddenInput)


class TextForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Reason")


class VerifyFieldsForm(forms.Form):
    fields = forms.MultipleChoiceField(choices=(), widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, field_names=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["fields"].choices = [(name, name) for name in field_names]


class SignForm(forms.Form):
    meaning = forms.CharField(initial=APPROVAL_MEANING, widget=forms.Textarea(attrs={"rows": 2}))
    password = forms.CharField(widget=forms.PasswordInput, label="Your password",
                               help_text="Re-enter your password to sign (21 CFR Part 11 §11.200).")


class QueryFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "Any status"), *QueryStatus.choices], required=False)
    origin = forms.ChoiceField(choices=[("", "Any origin"), ("auto", "Automatic"), ("manual", "Manual")],
                               required=False)
    site = forms.CharField(required=False, max_length=8)
    patient = forms.CharField(required=False, max_length=24, label="Study id")
