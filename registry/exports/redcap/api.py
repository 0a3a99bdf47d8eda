"""Answers to REDCap API requests (pure functions of an ExportSource and the request's parameters).

Behaves like a classic (non-longitudinal) REDCap project with repeating instruments, so PyCap, REDCapR and
scripts written for REDCap work unchanged: record id = study id, one row per record plus one row per instance
of a repeating instrument (`redcap_repeat_instrument`, `redcap_repeat_instance`), `<form>_complete` 0/1/2,
checkboxes as `<field>___<code>`, every value a string, blanks as "". `type=eav` gives the same data points
one per row (`record`, the repeat columns, `field_name`, `value`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from registry.crfs.catalogue import FAMILIES, FormFamily
from registry.exports.redcap.metadata import (
    CHECKBOX_LABELS,
    COMPLETE_CODES,
    COMPLETE_LABELS,
    RECORD_ID,
    YESNO_LABELS,
    RcField,
    checkbox_code,
    form_fields,
    metadata_row,
    record_id_row,
)
from registry.exports.tables import ExportSource
from registry.exports.writers.columns import text

REDCAP_VERSION = "14.5.0"
REPEAT_COLUMNS = ("redcap_repeat_instrument", "redcap_repeat_instance")
#: Columns of a `type=eav` record export of a classic project with repeating instruments.
EAV_COLUMNS = ("record", *REPEAT_COLUMNS, "field_name", "value")
KEY_COLUMNS = 4  # study_id, site, form_id, status lead every family row


class RedcapRequestError(Exception):
    """A request REDCap would refuse, with REDCap's wording and status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class Project:
    """The registry as REDCap sees it for one user (free text hidden when their exports drop it)."""

    source: ExportSource

    def fields(self, fam: FormFamily) -> list[RcField]:
        return form_fields(fam, self.source.family_variables(fam))

    def all_fields(self) -> list[tuple[FormFamily, RcField]]:
        return [(fam, f) for fam in FAMILIES for f in self.fields(fam)]

    def metadata(self, *, fields: list[str], forms: list[str]) -> list[dict[str, str]]:
        self._check(fields=fields, forms=forms, allow_complete=False)
        rows = [record_id_row(FAMILIES[0].code)]
        for fam, f in self.all_fields():
            if (not fields and not forms) or f.name in fields or fam.code in forms:
                rows.append(metadata_row(f, date_mode=self.source.deid.dates))
        if fields and RECORD_ID not in fields and not forms:
            rows = rows[1:]
        return rows

    def export_field_names(self, field: str | None) -> list[dict[str, str]]:
        rows = [{"original_field_name": RECORD_ID, "choice_value": "", "export_field_name": RECORD_ID}]
        for _fam, f in self.all_fields():
            if f.variable.kind == "multi":
                rows += [{"original_field_name": f.name, "choice_value": str(code), "export_field_name": name}
                         for (code, _), name in zip(f.variable.choices, f.export_names, strict=True)]
            else:
                rows.append({"original_field_name": f.name, "choice_value": "", "export_field_name": f.name})
        if field:
            rows = [r for r in rows if r["original_field_name"] == field]
            if not rows:
                raise RedcapRequestError(f'The field "{field}" does not exist in the project.')
        return rows

    def instruments(self) -> list[dict[str, str]]:
        return [{"instrument_name": f.code, "instrument_label": f.label} for f in FAMILIES]

    def info(self, *, project_id: int, title: str, created: str) -> dict[str, Any]:
        return {
            "project_id": project_id, "project_title": title, "creation_time": created, "production_time": created,
            "in_production": 1, "project_language": "English", "purpose": 2, "purpose_other": "",
            "project_notes": "NEN Registry (REDCap-compatible API)", "custom_record_label": "",
            "secondary_unique_field": "", "is_longitudinal": 0, "has_repeating_instruments_or_events": 1,
            "surveys_enabled": 0, "scheduling_enabled": 0, "record_autonumbering_enabled": 0,
            "randomization_enabled": 0, "ddp_enabled": 0, "project_irb_number": "", "project_grant_number": "",
            "project_pi_firstname": "", "project_pi_lastname": "", "display_today_now_button": 1,
            "missing_data_codes": "", "external_modules": "", "bypass_branching_erase_field_prompt": 0,
        }

    def _check(self, *, fields: list[str], forms: list[str], allow_complete: bool = True) -> None:
        known = {RECORD_ID} | {f.name for _, f in self.all_fields()}
        if allow_complete:
            known |= {f"{fam.code}_complete" for fam in FAMILIES}
            known |= {n for _, f in self.all_fields() for n in f.export_names}
        if bad := [f for f in fields if f not in known]:
            raise RedcapRequestError('The following values in the parameter "fields" are not valid: '
                                     + ", ".join(f'"{b}"' for b in bad))
        codes = {f.code for f in FAMILIES}
        if bad := [f for f in forms if f not in codes]:
            raise RedcapRequestError('The following values in the parameter "forms" are not valid: '
                                     + ", ".join(f'"{b}"' for b in bad))

    # --- records

    def record_layout(self, *, fields: list[str], forms: list[str]) -> list[tuple[FormFamily, list[RcField], bool]]:
        """(family, its selected fields, whether its _complete column is selected) in project order."""
        self._check(fields=fields, forms=forms)
        layout = []
        for fam in FAMILIES:
            fam_fields = self.fields(fam)
            if not fields and not forms or fam.code in forms:
                layout.append((fam, fam_fields, True))
                continue
            chosen = [f for f in fam_fields if f.name in fields or set(f.export_names) & set(fields)]
            complete = f"{fam.code}_complete" in fields
            if chosen or complete:
                layout.append((fam, chosen, complete))
        return layout

    def records(self, *, fields: list[str], forms: list[str], records: list[str], labels: bool
                ) -> tuple[list[str], Iterator[dict[str, str]]]:
        """(columns, rows) of a flat record export; rows are produced chunk by chunk."""
        layout = self.record_layout(fields=fields, forms=forms)
        columns = [RECORD_ID, *REPEAT_COLUMNS]
        for fam, chosen, complete in layout:
            columns += [n for f in chosen for n in f.export_names]
            if complete:
                columns.append(f"{fam.code}_complete")
        source = self.source
        if records:
            source = ExportSource(patients=source.patients.filter(study_id__in=records), deid=source.deid,
                                  minimum_status=source.minimum_status, chunk_size=source.chunk_size)
        return columns, self._rows(source, layout, columns, labels)

    def eav_records(self, *, fields: list[str], forms: list[str], records: list[str], labels: bool
                    ) -> tuple[list[str], Iterator[dict[str, str]]]:
        """(columns, rows) of an EAV record export (`type=eav`): one row per data point of the flat export,
        as REDCap gives it: blank values left out, a checkbox as one row per checked option (its code, or its
        label), the record id once per record, each row of a repeating instrument with its instance."""
        layout = self.record_layout(fields=fields, forms=forms)
        checkboxes = {name: (rc.name, checkbox_code(code), label)
                      for _, chosen, _ in layout for rc in chosen if rc.variable.kind == "multi"
                      for name, (code, label) in zip(rc.export_names, rc.variable.choices, strict=True)}
        checked = CHECKBOX_LABELS[1] if labels else "1"
        columns, flat = self.records(fields=fields, forms=forms, records=records, labels=labels)
        data = [c for c in columns if c not in (RECORD_ID, *REPEAT_COLUMNS)]

        def rows() -> Iterator[dict[str, str]]:
            for row in flat:
                key = {"record": row[RECORD_ID], "redcap_repeat_instrument": row["redcap_repeat_instrument"],
                       "redcap_repeat_instance": row["redcap_repeat_instance"]}
                if not row["redcap_repeat_instrument"]:
                    yield {**key, "field_name": RECORD_ID, "value": row[RECORD_ID]}
                for name in data:
                    value = row[name]
                    if name in checkboxes:
                        field, code, label = checkboxes[name]
                        if value == checked:
                            yield {**key, "field_name": field, "value": label if labels else code}
                    elif value != "":
                        yield {**key, "field_name": name, "value": value}

        return list(EAV_COLUMNS), rows()

    def _rows(self, source: ExportSource, layout, columns: list[str], labels: bool) -> Iterator[dict[str, str]]:
        variables = {fam.code: source.family_variables(fam) for fam, _, _ in layout}
        for chunk in source.patient_chunks():
            ids = [pid for pid, *_ in chunk]
            data = {fam.code: source.family_rows_for(fam, variables[fam.code], ids) for fam, _, _ in layout}
            for pid, study_id, _site, _ref in chunk:
                record = source.deid.record_id(study_id)
                main = dict.fromkeys(columns, "")
                main[RECORD_ID] = record
                has_main = False
                repeats = []
                for fam, chosen, complete in layout:
                    for instance, row in enumerate(data[fam.code].get(pid, []), start=1):
                        target = main if not fam.repeating else dict.fromkeys(columns, "")
                        if fam.repeating:
                            target.update({RECORD_ID: record, "redcap_repeat_instrument": fam.code,
                                           "redcap_repeat_instance": str(instance)})
                            repeats.append(target)
                        else:
                            has_main = True
                        self._fill(target, fam, chosen, complete, row, variables[fam.code], labels)
                if has_main or not repeats:
                    yield main
                yield from repeats

    @staticmethod
    def _fill(target: dict[str, str], fam: FormFamily, chosen: list[RcField], complete: bool, row: list[Any],
              variables, labels: bool) -> None:
        # row = key columns, then each non-key variable's columns in order (checkboxes expanded)
        position = KEY_COLUMNS
        wanted = {f.name for f in chosen}
        for var in variables[KEY_COLUMNS:]:
            width = len(var.choices) if var.kind == "multi" else 1
            values = row[position:position + width]
            position += width
            rc = next((f for f in chosen if f.variable.name == var.name), None)
            if rc is None or rc.name not in wanted:
                continue
            if var.kind == "multi":
                for name, value in zip(rc.export_names, values, strict=True):
                    target[name] = CHECKBOX_LABELS[value] if labels else str(value)
            else:
                target[rc.name] = _value(var, values[0], labels)
        if complete:
            code = COMPLETE_CODES.get(row[3], 0)
            target[f"{fam.code}_complete"] = COMPLETE_LABELS[code] if labels else str(code)


def _value(var, value: Any, labels: bool) -> str:
    if value is None:
        return ""
    if var.kind == "boolean":
        code = int(bool(value))
        return YESNO_LABELS[code] if labels else str(code)
    if labels and var.choices:
        return dict(var.choices).get(value, text(value))
    return text(value)
