"""Site-scoped row selectors for exports: long tables (one per form family), the wide table, and per-patient
chunks (ODM, REDCap records). Rows stream from server-side cursors (`values_list().iterator(chunk_size=…)`),
are de-identified on the fly, and are never all held in memory.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import DateField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from registry.crfs.catalogue import FormFamily
from registry.crfs.models import Enrolment, Regimen
from registry.exports import wide
from registry.exports.deid import Deidentifier
from registry.exports.variables import Variable, families, family_variables, patient_variables
from registry.exports.writers.columns import Column, ColumnBatches, Table
from registry.patients.models import Patient

CHUNK_SIZE = 2000
_PLAIN, _MULTI, _DATE, _STUDY, _DROP = range(5)
STATUS_ORDER = ("draft", "submitted", "verified", "locked")
REF = "_reference_date"


def statuses_from(minimum_status: str) -> list[str]:
    if minimum_status not in STATUS_ORDER:
        raise ValueError(f"unknown form status {minimum_status!r}")
    return list(STATUS_ORDER[STATUS_ORDER.index(minimum_status):])


def regimen_choices() -> tuple[tuple[str, str], ...]:
    """The regimen code list (reference data) for the codebook."""
    return tuple(Regimen.objects.order_by("code").values_list("code", "label"))


def _reference(outer: str, wanted: bool = True):
    """The patient's date of diagnosis (else registration date): the origin of exported durations."""
    if not wanted:
        return Value(None, output_field=DateField())
    enrolment = Enrolment.objects.filter(patient_id=OuterRef(outer))
    return Coalesce(Subquery(enrolment.values("date_of_diagnosis")[:1]),
                    Subquery(enrolment.values("registration_date")[:1]))


@dataclass
class ExportSource:
    """What one export reads: the patients in scope, the form statuses, and the de-identification."""

    patients: QuerySet[Patient]
    deid: Deidentifier
    minimum_status: str = "draft"
    chunk_size: int = CHUNK_SIZE
    _regimens: tuple[tuple[str, str], ...] | None = None

    @property
    def regimens(self) -> tuple[tuple[str, str], ...]:
        if self._regimens is None:
            self._regimens = regimen_choices()
        return self._regimens

    # --- variables and columns

    def kept(self, variables: Sequence[Variable]) -> list[Variable]:
        """Variables left after de-identification (free text dropped when asked)."""
        return [v for v in variables if not (self.deid.drop_free_text and v.free_text)]

    def family_variables(self, fam: FormFamily) -> list[Variable]:
        return self.kept(family_variables(fam, regimen_choices=self.regimens))

    def patient_variables(self) -> list[Variable]:
        return self.kept(patient_variables())

    def columns(self, variables: Sequence[Variable]) -> list[Column]:
        return [c for v in variables for c in v.columns(date_mode=self.deid.dates)]

    # --- one row

    def transform(self, variables: Sequence[Variable], study_id: str, reference: date | None,
                  values: Sequence[Any]) -> list[Any]:
        """Output values of one record (raw codes), de-identified; '' (blank CharField) becomes missing."""
        return self.transformer(variables)(study_id, reference, values)

    def transformer(self, variables: Sequence[Variable]) -> Callable[[str, date | None, Sequence[Any]], list[Any]]:
        """`transform` for one variable list, decided once per table instead of once per value: multi-choice
        fields become 0/1 indicators, dates are de-identified (or dropped), the study id hashed if asked."""
        deid = self.deid
        steps = []
        for var in variables:
            if var.kind == "multi":
                steps.append((_MULTI, tuple(code for code, _ in var.choices)))
            elif var.kind == "date":
                steps.append((_DROP if deid.dates == "remove" else _PLAIN if deid.dates == "keep" else _DATE, None))
            elif var.name == "study_id":
                steps.append((_STUDY if deid.hash_record_id else _PLAIN, None))
            else:
                steps.append((_PLAIN, None))
        if all(step == _PLAIN for step, _ in steps):
            # dates kept and ids as they are: a date or an id is never '', so one comprehension does it all
            # (a class test first: `Decimal == ""` goes through an abstract-base-class check)
            return lambda study_id, reference, values: [None if v.__class__ is str and not v else v for v in values]

        def general(study_id: str, reference: date | None, values: Sequence[Any]) -> list[Any]:
            out: list[Any] = []
            for (step, arg), value in zip(steps, values, strict=True):
                if step == _PLAIN:
                    out.append(None if value.__class__ is str and not value else value)
                elif step == _MULTI:
                    chosen = set(value or ())
                    out.extend(int(code in chosen) for code in arg)
                elif step == _DATE:
                    out.append(deid.date(value, study_id, reference))
                elif step == _STUDY:
                    out.append(deid.record_id(value))
            return out

        return general

    # --- long tables

    def _family_queryset(self, fam: FormFamily, variables: Sequence[Variable], patient_ids=None):
        qs = fam.model.objects.filter(status__in=statuses_from(self.minimum_status))
        qs = qs.filter(patient_id__in=patient_ids) if patient_ids is not None else qs.filter(
            patient__in=self.patients.values("pk"))
        ordering = [o for o in fam.model._meta.ordering if o not in ("patient", "line")]
        qs = qs.order_by("patient__site__code", "patient__sequence_number", *ordering, "pk")
        qs = qs.annotate(**{REF: _reference("patient_id", self.deid.dates == "durations")})
        return qs.values_list("patient__study_id", "patient_id", REF, *[v.lookup for v in variables])

    def family_rows(self, fam: FormFamily, variables: Sequence[Variable]) -> Iterator[list[Any]]:
        transform = self.transformer(variables)
        for study_id, _pid, ref, *values in self._family_queryset(fam, variables).iterator(
                chunk_size=self.chunk_size):
            yield transform(study_id, ref, values)

    def patient_rows(self, variables: Sequence[Variable]) -> Iterator[list[Any]]:
        qs = self.patients.order_by("site__code", "sequence_number").annotate(
            **{REF: _reference("pk", self.deid.dates == "durations")})
        rows = qs.values_list("study_id", REF, *[v.lookup for v in variables])
        transform = self.transformer(variables)
        for study_id, ref, *values in rows.iterator(chunk_size=self.chunk_size):
            yield transform(study_id, ref, values)

    def long_tables(self, codes: list[str] | None) -> list[Table]:
        """The patients table, then one table per selected family (rows not read until iterated)."""
        pvars = self.patient_variables()
        tables = [Table("patients", "Patients", self.columns(pvars), _Lazy(lambda: self.patient_rows(pvars)),
                        {"count": lambda: self.patients.count()})]
        for fam in families(codes):
            fvars = self.family_variables(fam)
            tables.append(Table(
                fam.code, fam.label, self.columns(fvars),
                _Lazy(lambda fam=fam, fvars=fvars: self.family_rows(fam, fvars)),
                {"count": lambda fam=fam: fam.model.objects.filter(
                    status__in=statuses_from(self.minimum_status), patient__in=self.patients.values("pk")).count(),
                 "repeating": fam.repeating, "domain_ref": fam.domain_ref},
            ))
        return tables

    # --- per-patient chunks (ODM, REDCap records)

    def patient_chunks(self) -> Iterator[list[tuple[int, str, str, date | None]]]:
        """(patient id, study id, site code, reference date) in chunks, in site/sequence order."""
        qs = self.patients.order_by("site__code", "sequence_number").annotate(**{REF: _reference("pk")})
        chunk = []
        for row in qs.values_list("pk", "study_id", "site__code", REF).iterator(chunk_size=self.chunk_size):
            chunk.append(row)
            if len(chunk) >= self.chunk_size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def family_rows_for(self, fam: FormFamily, variables: Sequence[Variable], patient_ids: list[int]
                        ) -> dict[int, list[list[Any]]]:
        """patient id → output rows of one family for a chunk of patients (one query)."""
        by_patient: dict[int, list[list[Any]]] = defaultdict(list)
        transform = self.transformer(variables)
        for study_id, pid, ref, *values in self._family_queryset(fam, variables, patient_ids):
            by_patient[pid].append(transform(study_id, ref, values))
        return by_patient

    # --- wide

    def wide_table(self, *, config: dict[str, Any], cutoff: date) -> Table:
        from analysis.datasets import COLUMNS

        columns = wide.wide_columns(COLUMNS, date_mode=self.deid.dates)
        return Table("wide", "One row per patient (analysis-ready)", columns,
                     ColumnBatches(lambda: self.wide_batches(config=config, cutoff=cutoff)),
                     {"count": lambda: self.patients.count(), "cutoff": cutoff.isoformat(), "config": config})

    def wide_batches(self, *, config: dict[str, Any], cutoff: date) -> Iterator[list[list[Any]]]:
        """Dataset columns as output values, a chunk of patients at a time: date columns de-identified, study
        id hashed if asked, '' → missing."""
        from analysis.datasets import COLUMNS

        kinds = {name: wide.WIDE_SPEC.get(name, ("", "string"))[1] for name in COLUMNS}
        names = [n for n in COLUMNS if not (kinds[n] == "date" and self.deid.dates == "remove")]
        deid = self.deid
        for columns, diagnosis in wide.wide_chunks(self.patients, config=config, cutoff=cutoff,
                                                   minimum_status=self.minimum_status, chunk_size=self.chunk_size):
            study_ids = columns["study_id"]
            out = []
            for name in names:
                values = columns[name]
                if kinds[name] == "date":
                    days = [None if v is None else date.fromisoformat(v) for v in values]
                    values = days if deid.dates == "keep" else [
                        deid.date(d, s, dx) for d, s, dx in zip(days, study_ids, diagnosis, strict=True)]
                elif name == "study_id" and deid.hash_record_id:
                    values = [deid.record_id(s) for s in values]
                elif "" in values:
                    values = [None if v == "" else v for v in values]
                out.append(values)
            yield out


class _Lazy:
    """An iterable that opens its row generator only when iterated (so counting or listing tables is free)."""

    def __init__(self, factory) -> None:
        self.factory = factory

    def __iter__(self):
        return iter(self.factory())
