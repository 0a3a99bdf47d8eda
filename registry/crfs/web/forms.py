"""HTML forms for the CRF pages, generated from the catalogue's models (one ModelForm class per family).

The ModelForms only parse and present input; every rule (ranges, partial dates, missing reasons, edit checks,
required-on-submit) is enforced by the services, so the web, the API and the admin refuse the same things.
Each data field carries its value as the user first saw it (`show_hidden_initial`), so a save sends only
what the user changed and a stale save can re-apply exactly those changes over the newer version.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from django import forms
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.http import QueryDict

from registry.core.errors import ValidationFailed
from registry.crfs.catalogue import FormFamily
from registry.crfs.models import CaseReportForm, FormStatus, Regimen, TreatmentLine
from registry.crfs.services.forms import REASON_REQUIRED
from registry.crfs.web.fields import help_for, label_for
from registry.sites.models import Site

WORKFLOW_INPUTS = ("version", "reason")
_RULE_SUFFIX = re.compile(r"^(?P<text>.*) \((?P<rule>EC\d{2})\)$", re.DOTALL)
_RULE_LABELS = {
    "required": "Required", "reason_required": "Reason for change", "unique": "Unique",
    "value_or_missing_reason": "Missing data", "choice": "Choice", "parent": "Treatment line",
    "immutable": "Fixed", "locked": "Locked", "workflow": "Workflow", "one_per_patient": "One per patient",
    "version": "Version", "site_inactive": "Site", "role": "Role",
}


def rule_message(message: str, rule: str | None) -> str:
    """An error as the user sees it, led by the rule it broke: "EC07: end_date must be …"."""
    match = _RULE_SUFFIX.match(message)
    if match:
        return f"{match['rule']}: {match['text']}"
    label = _RULE_LABELS.get(rule or "")
    return f"{label}: {message}" if label else message


def add_service_errors(form: forms.Form, exc: ValidationFailed) -> None:
    """Show a service's ValidationFailed next to the fields it names (others above the form)."""
    errors = exc.errors or {exc.field or "": [exc.message]}
    for field, messages in errors.items():
        target = field if field in form.fields else None
        for message in messages:
            text = rule_message(message, exc.rule)
            if target is None and field and field != "non_field_errors" and not text.startswith(("EC", field)):
                text = f"{field}: {text}"
            form.add_error(target, text)


def _css(field: forms.Field) -> None:
    widget = field.widget
    if isinstance(widget, forms.CheckboxSelectMultiple | forms.CheckboxInput):
        widget.attrs["class"] = "form-check-input"
    elif isinstance(widget, forms.Select):
        widget.attrs["class"] = "form-select"
    else:
        widget.attrs["class"] = "form-control"


def _formfield(db_field: models.Field, **kwargs) -> forms.Field | None:
    if isinstance(db_field, models.DateField):
        field = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), required=False)
    elif isinstance(db_field, ArrayField):
        field = forms.MultipleChoiceField(choices=db_field.base_field.choices, required=False,
                                          widget=forms.CheckboxSelectMultiple)
    else:
        field = db_field.formfield(**kwargs)
        if field is None:
            return None
        field.required = False
        if isinstance(field, forms.DecimalField | forms.IntegerField):
            # The model's ranges are checked by the services (rule "field"); the browser only gets a hint.
            field.widget.attrs.setdefault("inputmode", "decimal")
    name = db_field.name
    field.label = label_for(name)
    field.help_text = help_for(name, db_field.help_text)
    if name.endswith("_precision"):
        field.label = "Precision"
        field.help_text = ""
    elif name.endswith("_missing_reason"):
        field.label = "or: why missing"
        field.help_text = ""
        field.choices = [("", "—"), *[c for c in field.choices if c[0]]]
    field.show_hidden_initial = True
    _css(field)
    return field


class CaseReportFormForm(forms.ModelForm):
    """Base of every generated CRF form: version for optimistic locking and the reason for change."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    reason = forms.CharField(
        label="Reason for change", required=False,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
        help_text="Why this submitted form is being changed (kept in the audit trail).",
    )

    family: FormFamily

    def __init__(self, *args, patient, read_only: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.patient = patient
        instance = self.instance
        if instance.pk and "version" not in self.initial:
            self.initial["version"] = instance.version
        self.needs_reason = bool(instance.pk) and instance.status in REASON_REQUIRED
        if self.needs_reason:
            self.fields["reason"].widget.attrs["required"] = "required"
        else:
            del self.fields["reason"]
        lines = TreatmentLine.objects.none() if patient is None else TreatmentLine.objects.filter(
            patient_id=patient.pk).select_related("regimen").order_by("line_number")
        for name in ("line",):
            if name in self.fields:
                self.fields[name].queryset = lines
                self.fields[name].label_from_instance = _line_label
        for name in ("regimen", "backbone_regimen"):
            if name in self.fields:
                current = getattr(instance, f"{name}_id", None)
                self.fields[name].queryset = Regimen.objects.filter(
                    models.Q(is_active=True) | models.Q(pk=current)).order_by("label")
        if read_only:
            for field in self.fields.values():
                field.disabled = True

    def _post_clean(self):
        # No model validation here: the services validate (and the instance must stay as it was read).
        pass

    @property
    def data_field_names(self) -> list[str]:
        return [name for name in self.fields if name not in WORKFLOW_INPUTS]

    def values_to_save(self) -> dict[str, Any]:
        """The input for the service: everything on a new form, only the changed fields on an existing one."""
        names = self.data_field_names if self.instance.pk is None else [
            n for n in self.changed_data if n not in WORKFLOW_INPUTS]
        return {name: self.cleaned_data.get(name) for name in names if name in self.cleaned_data}

    def user_changes(self) -> list[str]:
        return [n for n in self.changed_data if n not in WORKFLOW_INPUTS]

    def layout(self) -> list[dict]:
        """Rows for the template: each field with its precision and missing-reason companions beside it."""
        model = self._meta.model
        companions = {f"{n}_precision" for n in model.PARTIAL_DATES} | {f"{n}_missing_reason"
                                                                         for n in model.MISSING_REASONS}
        rows = []
        for name in self.data_field_names:
            if name in companions:
                continue
            bound = self[name]
            precision = f"{name}_precision"
            missing = f"{name}_missing_reason"
            rows.append({
                "field": bound,
                "precision": self[precision] if precision in self.fields else None,
                "missing": self[missing] if missing in self.fields else None,
                "kind": _kind(bound.field),
                # Options of a checkbox list are rendered one by one, so their "as first seen" copy is too.
                "hidden_initial": bound.as_hidden(only_initial=True) if bound.field.show_hidden_initial else "",
            })
        return rows


def _kind(field: forms.Field) -> str:
    if isinstance(field.widget, forms.CheckboxSelectMultiple):
        return "multi"
    if isinstance(field.widget, forms.CheckboxInput):
        return "checkbox"
    if isinstance(field.widget, forms.Textarea):
        return "text"
    return "input"


def _line_label(line: TreatmentLine) -> str:
    regimen = line.regimen.label if line.regimen_id else (line.regimen_other_text or "regimen not given")
    return f"Line {line.line_number or '?'} — {regimen} (from {line.start_date or '?'})"


@cache
def form_class_for(fam: FormFamily, *, creating: bool) -> type[CaseReportFormForm]:
    """The ModelForm class of a family; fields fixed at creation (a response's line) only when creating."""
    model: type[CaseReportForm] = fam.model
    names = [n for n in model.data_fields() if creating or n not in model.IMMUTABLE_FIELDS]
    meta = type("Meta", (), {"model": model, "fields": names, "formfield_callback": staticmethod(_formfield)})
    return type(f"{model.__name__}Form", (CaseReportFormForm,), {"Meta": meta, "family": fam})


def _raw(bound: forms.BoundField, *, initial: bool) -> list[str]:
    """A bound field's current value as the strings a browser would post for it."""
    value = bound.value()
    widget = bound.field.widget
    if isinstance(widget, forms.CheckboxSelectMultiple):
        return [str(v) for v in value or []]
    if isinstance(widget, forms.CheckboxInput):
        if initial:
            return [str(bool(value))]
        return ["on"] if value else []
    formatted = widget.format_value(value)
    if isinstance(formatted, list):
        return formatted[:1] or [""]
    return ["" if formatted is None else str(formatted)]


def reapply_data(form_class: type[CaseReportFormForm], current: CaseReportForm, posted: QueryDict,
                 changed: list[str], *, patient) -> QueryDict:
    """Form data for re-applying a stale save: the current saved values, with the user's changed fields
    on top, based on the current version (so the next save sends exactly the user's changes)."""
    fresh = form_class(instance=current, patient=patient)
    data = QueryDict(mutable=True)
    for bound in fresh:
        if bound.name in WORKFLOW_INPUTS:
            continue
        data.setlist(bound.html_initial_name, _raw(bound, initial=True))
        if bound.name in changed:
            data.setlist(bound.html_name, posted.getlist(bound.html_name))
        else:
            data.setlist(bound.html_name, _raw(bound, initial=False))
    data["version"] = str(current.version)
    data["reason"] = posted.get("reason", "")
    return data


def display_value(field: forms.Field, value: Any) -> str:
    """A value as text for the conflict comparison (choice labels, Yes/No, comma-separated lists)."""
    if value in (None, "", []):
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, models.Model):
        return str(value)
    choices = dict(getattr(field, "choices", []) or [])
    if isinstance(value, list | tuple):
        return ", ".join(str(choices.get(v, v)) for v in value)
    return str(choices.get(value, choices.get(str(value), value)))


class EnrolSiteForm(forms.Form):
    site = forms.ModelChoiceField(queryset=Site.objects.none(), label="Site",
                                  help_text="Only sites where you enter data are listed.",
                                  widget=forms.Select(attrs={"class": "form-select"}))

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
        self.fields["site"].empty_label = None


class DashboardFilterForm(forms.Form):
    STATUS_CHOICES = [("", "Any status"), *FormStatus.choices, ("missing", "Missing forms"),
                      ("warnings", "Open warnings")]

    site = forms.ModelChoiceField(queryset=Site.objects.none(), required=False, empty_label="All my sites",
                                  widget=forms.Select(attrs={"class": "form-select form-select-sm"}))
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False,
                               widget=forms.Select(attrs={"class": "form-select form-select-sm"}))
    q = forms.CharField(required=False, label="Study id", max_length=24,
                        widget=forms.TextInput(attrs={"class": "form-control form-control-sm",
                                                      "placeholder": "Search study id", "type": "search"}))

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites


class WorkflowForm(forms.Form):
    ACTIONS = [("verify", "Verify"), ("lock", "Lock"), ("unlock", "Unlock")]

    action = forms.ChoiceField(choices=ACTIONS)
    version = forms.IntegerField()
    reason = forms.CharField(required=False)
