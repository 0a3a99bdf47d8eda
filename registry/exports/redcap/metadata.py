"""The registry as a classic REDCap project: one instrument per form family (repeating instruments for
repeating families), field names unique across the project, REDCap field types and validations.

Field names are the model's field names in lower case; a name used by two families (e.g. `intent`) is
prefixed with the family code in both (`treatment_intent`, `other_treatment_intent`), so the names do not
depend on which forms are exported. The record id is the study id (`record_id`, first field, on the first
instrument); a form's workflow status is REDCap's `<form>_complete` (0 Incomplete = draft, 1 Unverified =
submitted, 2 Complete = verified or locked).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cache
from typing import Any

from registry.crfs.catalogue import FAMILIES, FormFamily
from registry.exports.variables import Variable, family_variables
from registry.exports.writers.redcap_dd import choices_string

RECORD_ID = "record_id"
COMPLETE_CODES = {"draft": 0, "submitted": 1, "verified": 2, "locked": 2}
COMPLETE_LABELS = {0: "Incomplete", 1: "Unverified", 2: "Complete"}
YESNO_LABELS = {1: "Yes", 0: "No"}
CHECKBOX_LABELS = {1: "Checked", 0: "Unchecked"}
VALIDATION = {"date": "date_ymd", "integer": "integer", "float": "number"}


@dataclass(frozen=True)
class RcField:
    name: str
    form: str
    variable: Variable

    @property
    def export_names(self) -> list[str]:
        if self.variable.kind == "multi":
            return [f"{self.name}___{checkbox_code(code)}" for code, _ in self.variable.choices]
        return [self.name]


def checkbox_code(code: Any) -> str:
    return str(code).lower()


@cache
def _collisions() -> frozenset[str]:
    names = Counter(v.name.lower() for fam in FAMILIES for v in family_variables(fam) if not v.key)
    return frozenset(n for n, c in names.items() if c > 1)


def field_name(fam: FormFamily, variable: Variable) -> str:
    name = variable.name.lower()
    return f"{fam.code}_{name}" if name in _collisions() else name


def form_fields(fam: FormFamily, variables: list[Variable]) -> list[RcField]:
    """The REDCap fields of one family (its key columns are not fields)."""
    return [RcField(field_name(fam, v), fam.code, v) for v in variables if not v.key]


def metadata_row(f: RcField, *, date_mode: str = "keep") -> dict[str, str]:
    """One row of `content=metadata` (snake_case keys of the 18 data-dictionary columns)."""
    v = f.variable
    row = dict.fromkeys(("section_header", "field_note", "text_validation_type_or_show_slider_number",
                         "text_validation_min", "text_validation_max", "identifier", "branching_logic",
                         "required_field", "custom_alignment", "question_number", "matrix_group_name",
                         "matrix_ranking", "field_annotation", "select_choices_or_calculations"), "")
    row.update(field_name=f.name, form_name=f.form, field_label=v.label)
    if v.kind == "multi":
        row["field_type"] = "checkbox"
        row["select_choices_or_calculations"] = choices_string((checkbox_code(c), lbl) for c, lbl in v.choices)
    elif v.choices:
        row["field_type"] = "dropdown"
        row["select_choices_or_calculations"] = choices_string(v.choices)
    elif v.kind == "boolean":
        row["field_type"] = "yesno"
    elif v.kind == "text":
        row["field_type"] = "notes"
    else:
        row["field_type"] = "text"
        kind = "integer" if v.kind == "date" and date_mode == "durations" else v.kind
        row["text_validation_type_or_show_slider_number"] = VALIDATION.get(kind, "")
        if kind in ("integer", "float"):
            row["text_validation_min"] = "" if v.minimum is None else str(v.minimum)
            row["text_validation_max"] = "" if v.maximum is None else str(v.maximum)
    notes = [n for n in (v.unit and f"Unit: {v.unit}", v.description) if n]
    if v.kind == "date" and date_mode == "durations":
        notes.insert(0, "Days from the date of diagnosis")
    row["field_note"] = ". ".join(notes)
    row["identifier"] = "y" if v.identifier else ""
    row["required_field"] = "y" if v.required else ""
    row["field_annotation"] = "@READONLY" if v.derived else ""
    return row


def record_id_row(first_form: str) -> dict[str, str]:
    row = dict.fromkeys(("section_header", "select_choices_or_calculations", "field_note",
                         "text_validation_type_or_show_slider_number", "text_validation_min", "text_validation_max",
                         "identifier", "branching_logic", "required_field", "custom_alignment", "question_number",
                         "matrix_group_name", "matrix_ranking", "field_annotation"), "")
    row.update(field_name=RECORD_ID, form_name=first_form, field_type="text", field_label="Study id (record id)")
    return row
