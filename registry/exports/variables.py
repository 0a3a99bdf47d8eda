"""The exported variables, generated from the CRF models (catalogue.py is the single list of form families):
names, labels, types, units, codes and ranges come from the fields' verbose names, choices, help texts and
validators, so the codebook, the REDCap dictionary and the ODM metadata can never drift from the database.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from registry.crfs.catalogue import FAMILIES, FormFamily
from registry.crfs.models import FormStatus
from registry.exports.writers.columns import Column

#: Variable kinds; "multi" (a list of codes) is written as one 0/1 indicator column per code.
KINDS = frozenset({"string", "text", "integer", "float", "date", "boolean", "multi"})
#: CharFields this long without choices hold prose, not codes (dropped by "remove free text").
FREE_TEXT_MIN_LENGTH = 100
#: Fields that identify a person more than the analyses need (REDCap "Identifier?").
IDENTIFIERS = frozenset({"date_of_birth"})
#: Units by field name, then by name suffix (the models name their unit in the field, DOMAIN.md).
UNITS = {"age_at_diagnosis": "years", "mitoses_per_2mm2": "mitoses/2 mm²", "value_x_uln": "× ULN",
         "n_cycles": "cycles", "value": "see unit", "lln": "see unit", "uln": "see unit"}
UNIT_SUFFIXES = (("_kg", "kg"), ("_cm", "cm"), ("_mm", "mm"), ("_percent", "%"), ("_days", "days"),
                 ("_years", "years"))
CHECKED = {0: "Unchecked", 1: "Checked"}
YES_NO = {True: "Yes", False: "No"}


@dataclass(frozen=True)
class Variable:
    name: str
    lookup: str
    label: str
    kind: str
    choices: tuple[tuple[Any, str], ...] = ()
    unit: str = ""
    minimum: Any = None
    maximum: Any = None
    description: str = ""
    derived: bool = False
    free_text: bool = False
    required: bool = False
    identifier: bool = False
    #: A key column every table carries (study id, site, form id, status): never dropped or shifted.
    key: bool = False

    @property
    def is_date(self) -> bool:
        return self.kind == "date"

    def columns(self, *, date_mode: str = "keep") -> list[Column]:
        """The output columns of this variable under the date handling chosen."""
        if self.kind == "multi":
            return [Column(f"{self.name}___{code}", f"{self.label}: {label}", "integer", CHECKED,
                           description=self.description) for code, label in self.choices]
        if self.kind == "date" and date_mode == "durations":
            return [Column(f"{self.name}_days", f"{self.label} (days from diagnosis)", "integer", unit="days",
                           description=f"Days from the date of diagnosis to {self.name}. {self.description}".strip())]
        if self.kind == "date" and date_mode == "remove":
            return []
        labels = dict(self.choices) if self.choices else (YES_NO if self.kind == "boolean" else None)
        desc = self.description
        if self.kind == "date" and date_mode == "shift":
            desc = f"Shifted by a per-patient offset of 1–364 days. {desc}".strip()
        return [Column(self.name, self.label, self.kind, labels, self.unit, desc, self.minimum, self.maximum)]


def _label(field: models.Field) -> str:
    text = str(field.verbose_name)
    return text[:1].upper() + text[1:]


def _unit(name: str) -> str:
    if name in UNITS:
        return UNITS[name]
    return next((unit for suffix, unit in UNIT_SUFFIXES if name.endswith(suffix)), "")


def _bounds(field: models.Field) -> tuple[Any, Any]:
    low = next((v.limit_value for v in field.validators if isinstance(v, MinValueValidator)), None)
    high = next((v.limit_value for v in field.validators if isinstance(v, MaxValueValidator)), None)
    if low is None and isinstance(field, models.PositiveIntegerField | models.PositiveSmallIntegerField):
        low = 0
    return low, high


def _kind(field: models.Field) -> str:
    if isinstance(field, ArrayField):
        return "multi"
    if isinstance(field, models.BooleanField):
        return "boolean"
    if isinstance(field, models.DateField) and not isinstance(field, models.DateTimeField):
        return "date"
    if isinstance(field, models.IntegerField):
        return "integer"
    if isinstance(field, models.DecimalField | models.FloatField):
        return "float"
    if isinstance(field, models.TextField):
        return "text"
    return "string"


def field_variable(model: type[models.Model], field: models.Field, *,
                   regimen_choices: tuple[tuple[str, str], ...] = ()) -> Variable:
    """The Variable of one concrete model field."""
    derived = field.name in getattr(model, "DERIVED_FIELDS", ()) or not field.editable
    required = field.name in getattr(model, "REQUIRED_ON_SUBMIT", ())
    common = {"label": _label(field), "description": str(field.help_text or ""), "derived": derived,
              "required": required, "identifier": field.name in IDENTIFIERS}
    if field.is_relation:
        if field.related_model._meta.model_name == "regimen":
            return Variable(field.name, f"{field.name}__code", kind="string", choices=regimen_choices, **common)
        return Variable(f"{field.name}_id", field.attname, kind="integer", **common)
    kind = _kind(field)
    base = field.base_field if isinstance(field, ArrayField) else field
    choices = tuple((code, str(label)) for code, label in base.flatchoices) if base.choices else ()
    low, high = _bounds(field)
    free = kind == "text" or (kind == "string" and not choices and (field.max_length or 0) >= FREE_TEXT_MIN_LENGTH)
    if free:
        kind = "text"
    return Variable(field.name, field.name, kind=kind, choices=choices, unit=_unit(field.name), minimum=low,
                    maximum=high, free_text=free, **common)


def key_variables(*, form: bool = True) -> list[Variable]:
    """The columns every long table starts with."""
    keys = [
        Variable("study_id", "patient__study_id", "Study id (pseudonym)", "string", key=True),
        Variable("site", "patient__site__code", "Site code", "string", key=True),
    ]
    if form:
        keys += [
            Variable("form_id", "id", "Form instance id", "integer", key=True),
            Variable("status", "status", "Form status", "string", tuple(FormStatus.choices), key=True),
        ]
    return keys


def family_variables(fam: FormFamily, *, regimen_choices: tuple[tuple[str, str], ...] = ()) -> list[Variable]:
    """Key columns, then every data and derived field of the family's model in model order."""
    skip = fam.model.workflow_fields()
    fields = [f for f in fam.model._meta.concrete_fields if f.name not in skip]
    return key_variables() + [field_variable(fam.model, f, regimen_choices=regimen_choices) for f in fields]


def patient_variables() -> list[Variable]:
    """The patients table of a long export (one row per patient)."""
    from registry.patients.models import Patient
    from registry.sites.models import Country

    keys = [replace(v, lookup=v.lookup.removeprefix("patient__")) for v in key_variables(form=False)]
    fields = [field_variable(Patient, Patient._meta.get_field(name))
              for name in ("withdrawn", "withdrawal_date", "withdrawal_reason")]
    country = Variable("country", "site__country", "Country of the site", "string",
                       tuple((c, str(label)) for c, label in Country.choices))
    return [*keys, country, *fields]


def families(codes: list[str] | None = None) -> list[FormFamily]:
    """Catalogue families in catalogue order, restricted to `codes` when given."""
    return [f for f in FAMILIES if not codes or f.code in codes]
