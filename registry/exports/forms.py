"""The new-export form: format, shape, forms, sites and de-identification, labelled as REDCap labels them."""

from __future__ import annotations

from django import forms as dj

from registry.crfs.catalogue import FAMILIES
from registry.exports import selectors
from registry.exports.models import DateHandling, ExportFormat, ExportRelease, Shape
from registry.exports.services import BUNDLE_FORMATS

STATUS_CHOICES = [("draft", "All forms (drafts included)"), ("submitted", "Submitted, verified and locked"),
                  ("verified", "Verified (SDV) and locked"), ("locked", "Locked only")]


class ExportForm(dj.Form):
    format = dj.ChoiceField(choices=ExportFormat.choices, initial=ExportFormat.CSV)
    shape = dj.ChoiceField(choices=Shape.choices, initial=Shape.LONG, widget=dj.RadioSelect)
    forms = dj.MultipleChoiceField(choices=[(f.code, f.label) for f in FAMILIES], required=False,
                                      widget=dj.CheckboxSelectMultiple,
                                      help_text="Long shape: leave all unticked to export every form.")
    sites = dj.ModelMultipleChoiceField(queryset=None, required=False, widget=dj.CheckboxSelectMultiple,
                                           help_text="Leave all unticked to export every site you have access to.")
    release = dj.ModelChoiceField(queryset=ExportRelease.objects.none(), required=False,
                                     help_text="Exports of the same release shift a patient's dates identically.")
    drop_free_text = dj.BooleanField(required=False, label="Remove unvalidated Text fields and Notes/Essay box "
                                                              "fields (free text)")
    dates = dj.ChoiceField(choices=DateHandling.choices, initial=DateHandling.KEEP, widget=dj.RadioSelect,
                              label="Dates")
    hash_record_id = dj.BooleanField(required=False, label="Hash the Record ID field")
    minimum_status = dj.ChoiceField(choices=STATUS_CHOICES, initial="draft", label="Forms to include")
    labels = dj.BooleanField(required=False, label="Excel: write labels instead of raw codes")
    delimiter = dj.ChoiceField(choices=[("comma", "Comma (,)"), ("semicolon", "Semicolon (;)"),
                                           ("tab", "Tab")], initial="comma", label="Set CSV delimiter character")
    bundle = dj.MultipleChoiceField(choices=[(f, dict(ExportFormat.choices)[f]) for f in BUNDLE_FORMATS],
                                       required=False, widget=dj.CheckboxSelectMultiple,
                                       label="Zip bundle contents", help_text="Default: CSV, Stata, SPSS, Parquet.")
    cutoff = dj.DateField(required=False, label="Data cut-off (wide shape)",
                             widget=dj.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sites"].queryset = selectors.export_sites_for_user(user).order_by("code")
        self.fields["release"].queryset = selectors.release_list()
        self.pseudonymised_only = selectors.must_pseudonymise(
            user, set(self.fields["sites"].queryset.values_list("pk", flat=True)))
        for name, field in self.fields.items():
            if isinstance(field.widget, dj.Select) and not isinstance(field.widget, dj.SelectMultiple):
                field.widget.attrs.setdefault("class", "form-select form-select-sm")
            elif isinstance(field.widget, dj.DateInput):
                field.widget.attrs.setdefault("class", "form-control form-control-sm")
            elif isinstance(field.widget, dj.CheckboxInput):
                field.widget.attrs.setdefault("class", "form-check-input")
            field.widget.attrs.setdefault("id", f"id_{name}")

    def options(self) -> dict:
        data = self.cleaned_data
        return {"drop_free_text": data["drop_free_text"], "dates": data["dates"],
                "hash_record_id": data["hash_record_id"], "minimum_status": data["minimum_status"],
                "labels": data["labels"], "delimiter": data["delimiter"], "bundle": data["bundle"],
                "cutoff": data["cutoff"].isoformat() if data["cutoff"] else None}
