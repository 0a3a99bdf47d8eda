"""Writes one export file from an ExportSource: picks the writers for the format, bundles several tables into a
zip with a codebook and manifest.json, and reports progress through a callback. The file is written to a
temporary path, fsynced and renamed into place, so a crash never leaves a half-written file under the final
name and a redelivered job simply replaces its own temporary file.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from registry.crfs.catalogue import BY_CODE
from registry.exports.redcap.metadata import form_fields, metadata_row, record_id_row
from registry.exports.tables import ExportSource
from registry.exports.writers import codebook as cb
from registry.exports.writers.bundle import sha256_file, write_bundle
from registry.exports.writers.columns import ColumnBatches
from registry.exports.writers.csv import write_csv
from registry.exports.writers.odm import OdmForm, OdmStudy, OdmSubject, write_odm
from registry.exports.writers.parquet import write_parquet
from registry.exports.writers.redcap_dd import write_data_dictionary
from registry.exports.writers.stats import write_dta, write_sav
from registry.exports.writers.xlsx import write_xlsx

#: REDCap's export file naming (domain/INTEROP.md §3.1): <PROJ>_<KIND>_yyyy-mm-dd_hhmm.<ext>
FILE_KINDS = {
    "csv": ("DATA", "csv"), "csv_labels": ("DATA_LABELS", "csv"), "xlsx": ("EXCEL", "xlsx"),
    "sav": ("SPSS", "sav"), "dta": ("STATA", "dta"), "parquet": ("PARQUET", "parquet"),
    "odm": ("CDISC_ODM", "xml"), "redcap_dd": ("DataDictionary", "csv"), "codebook": ("CODEBOOK", "csv"),
    "zip": ("EXPORT", "zip"),
}
TABLE_FORMATS = ("csv", "csv_labels", "sav", "dta", "parquet")
DEFAULT_BUNDLE = ("csv", "dta", "sav", "parquet")


def file_name(project: str, fmt: str, when: datetime, *, zipped: bool = False) -> str:
    kind, ext = FILE_KINDS[fmt]
    return f"{project}_{kind}_{when:%Y-%m-%d_%H%M}.{'zip' if zipped else ext}"


@dataclass
class Progress:
    """Counts rows as writers consume them; `report` is called at most every `every` rows and at most once
    every `min_seconds` (each report is a committed write to the job row: 50 of them took 0.7 s of a 4 s
    export of 100,000 patients)."""

    total: int
    report: Callable[[int, int], None] | None = None
    every: int = 2000
    written: int = 0
    min_seconds: float = 0.5
    _last: float = field(default=float("-inf"), repr=False)

    def row(self, *_: Any) -> None:
        self.add(1)

    def add(self, rows: int) -> None:
        before, self.written = self.written, self.written + rows
        if self.report is None or before // self.every == self.written // self.every:
            return
        now = time.monotonic()
        if now - self._last >= self.min_seconds:
            self._last = now
            self.report(self.written, self.total)


@dataclass
class BuildRequest:
    source: ExportSource
    shape: str
    fmt: str
    forms: list[str]
    project: str
    created: datetime
    options: dict[str, Any] = field(default_factory=dict)
    wide_config: dict[str, Any] = field(default_factory=dict)
    wide_cutoff: Any = None
    study: dict[str, str] = field(default_factory=dict)
    #: What the manifest says about the job (who, scope, options); the build adds tables and checksums.
    manifest_base: dict[str, Any] = field(default_factory=dict)


def _counted(rows, progress: Progress):
    """The rows, counted into `progress` in batches (a method call per row showed in the profile)."""
    if isinstance(rows, ColumnBatches):
        return ColumnBatches(lambda: _counted_batches(rows, progress))
    return _counted_rows(rows, progress)


def _counted_batches(rows: ColumnBatches, progress: Progress):
    for batch in rows.batches():
        yield batch
        progress.add(len(batch[0]) if batch else 0)


def _counted_rows(rows, progress: Progress):
    pending = 0
    for row in rows:
        yield row
        pending += 1
        if pending == 500:
            progress.add(pending)
            pending = 0
    progress.add(pending)


def tables_for(req: BuildRequest):
    if req.shape == "wide":
        return [req.source.wide_table(config=req.wide_config, cutoff=req.wide_cutoff)]
    return req.source.long_tables(req.forms or None)


def count_rows(tables) -> int:
    return sum(t.meta["count"]() for t in tables)


def redcap_dictionary_rows(req: BuildRequest) -> list[dict[str, str]]:
    codes = req.forms or list(BY_CODE)
    rows = [record_id_row(codes[0])]
    for code in codes:
        fam = BY_CODE[code]
        rows += [metadata_row(f, date_mode=req.source.deid.dates)
                 for f in form_fields(fam, req.source.family_variables(fam))]
    return rows


def _write_table(fmt: str, path: Path, table, progress: Progress, delimiter: str) -> dict[str, Any]:
    rows = _counted(table.rows, progress)
    if fmt in ("csv", "csv_labels"):
        with open(path, "w", newline="", encoding="utf-8") as out:
            n = write_csv(out, table.columns, rows, labels=fmt == "csv_labels", delimiter=delimiter)
        return {"rows": n}
    if fmt == "sav":
        return write_sav(str(path), table.columns, rows, file_label=table.label)
    if fmt == "dta":
        return write_dta(str(path), table.columns, rows, file_label=table.label)
    if fmt == "parquet":
        return write_parquet(str(path), table.columns, rows)
    raise ValueError(f"{fmt} is not a table format")


def _odm(req: BuildRequest, path: Path, progress: Progress) -> dict[str, Any]:
    src = req.source
    study = OdmStudy(oid=f"S.{req.project}", name=req.study.get("name", req.project),
                     description=req.study.get("description", ""), protocol=req.study.get("protocol", req.project),
                     locations=tuple(src.patients.order_by("site__code").values_list(
                         "site__code", "site__name").distinct()),
                     source_system_version=req.study.get("version", ""))
    if req.shape == "wide":
        table = tables_for(req)[0]
        forms = [OdmForm("analysis", table.label, False, table.columns)]
        site_of = dict(src.patients.values_list("study_id", "site__code"))

        def subjects():
            for row in table.rows:
                progress.row()
                key = row[[c.name for c in table.columns].index("study_id")]
                yield OdmSubject(key, site_of.get(key) if not src.deid.hash_record_id else None,
                                 [("analysis", None, row)])
    else:
        fams = [BY_CODE[c] for c in (req.forms or list(BY_CODE))]
        variables = {f.code: src.family_variables(f) for f in fams}
        forms = [OdmForm(f.code, f.label, f.repeating, src.columns(variables[f.code])) for f in fams]

        def subjects():
            for chunk in src.patient_chunks():
                ids = [pid for pid, *_ in chunk]
                rows = {f.code: src.family_rows_for(f, variables[f.code], ids) for f in fams}
                for pid, study_id, site_code, _ref in chunk:
                    entries = []
                    for f in fams:
                        for i, values in enumerate(rows[f.code].get(pid, []), start=1):
                            progress.row()
                            entries.append((f.code, i if f.repeating else None, values))
                    yield OdmSubject(src.deid.record_id(study_id), site_code, entries)

    with open(path, "wb") as out:
        n = write_odm(out, study, forms, subjects(), created=req.created,
                      file_oid=f"{req.project}.{req.created:%Y%m%dT%H%M%S}")
    return {"subjects": n}


def build_file(req: BuildRequest, directory: Path, progress_report: Callable[[int, int], None] | None = None
               ) -> dict[str, Any]:
    """Write the export into `directory` atomically; returns {path, name, rows, tables, manifest parts}."""
    directory.mkdir(parents=True, exist_ok=True)
    tables = tables_for(req)
    fmt = req.fmt
    formats = tuple(req.options.get("bundle") or DEFAULT_BUNDLE) if fmt == "zip" else (fmt,)
    total = count_rows(tables) * len(formats) if fmt not in ("redcap_dd", "codebook") else 0
    progress = Progress(total=total, report=progress_report)
    delimiter = {"comma": ",", "semicolon": ";", "tab": "\t"}.get(req.options.get("delimiter", "comma"), ",")
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=directory))
    described: list[dict[str, Any]] = []
    numeric: dict[str, dict[str, dict[str, int]]] = {}
    try:
        zipped = fmt == "zip" or (fmt in TABLE_FORMATS and len(tables) > 1)
        name = file_name(req.project, fmt, req.created, zipped=zipped)
        members: list[tuple[str, str]] = []
        target = work / name

        def codebook_rows():
            return cb.entries([(t.name, t.columns) for t in tables], numeric)

        if fmt in TABLE_FORMATS or fmt == "zip":
            for sub in formats:
                for table in tables:
                    ext = FILE_KINDS[sub][1]
                    member = f"{table.name}{'_labels' if sub == 'csv_labels' else ''}.{ext}"
                    meta = _write_table(sub, work / member, table, progress, delimiter)
                    if meta.get("numeric_codes"):
                        numeric.setdefault(table.name, {}).update(meta["numeric_codes"])
                    members.append((member, str(work / member)))
                    if sub == formats[0]:
                        described.append({"table": table.name, "label": table.label, "rows": meta["rows"],
                                          "columns": [c.name for c in table.columns],
                                          **({"renamed": meta["names"]} if meta.get("names") else {})})
            if zipped:
                with open(work / "codebook.csv", "w", newline="", encoding="utf-8") as out:
                    write_csv(out, [c for c in cb.codebook_table([]).columns], codebook_rows())
                members.append(("codebook.csv", str(work / "codebook.csv")))
                if req.shape == "long":
                    with open(work / "redcap_data_dictionary.csv", "w", newline="", encoding="utf-8") as out:
                        write_data_dictionary(out, redcap_dictionary_rows(req))
                    members.append(("redcap_data_dictionary.csv", str(work / "redcap_data_dictionary.csv")))
            else:
                os.replace(members[0][1], target)
        elif fmt == "xlsx":
            counts = write_xlsx(str(target), [*tables, cb.codebook_table(codebook_rows())],
                                labels=bool(req.options.get("labels")), on_row=progress.row)
            described = [{"table": t.name, "label": t.label, "rows": counts[t.name],
                          "columns": [c.name for c in t.columns]} for t in tables]
        elif fmt == "odm":
            meta = _odm(req, target, progress)
            described = [{"table": "odm", "subjects": meta["subjects"], "rows": progress.written}]
        elif fmt == "redcap_dd":
            if req.shape != "long":
                raise ValueError("the REDCap data dictionary describes the long (per-form) shape")
            with open(target, "w", newline="", encoding="utf-8") as out:
                n = write_data_dictionary(out, redcap_dictionary_rows(req))
            described = [{"table": "redcap_data_dictionary", "rows": n}]
        elif fmt == "codebook":
            rows = codebook_rows()
            with open(target, "w", newline="", encoding="utf-8") as out:
                write_csv(out, cb.codebook_table([]).columns, rows)
            described = [{"table": "codebook", "rows": len(rows)}]
        else:
            raise ValueError(f"unknown export format {fmt!r}")

        manifest_part = {"tables": described, "numeric_codes": numeric}
        if zipped:
            manifest_part = write_bundle(str(target), members, {**req.manifest_base, **manifest_part})
        _fsync(target)
        final = directory / name
        os.replace(target, final)
        _fsync_dir(directory)
        row_count = sum(int(t.get("rows", 0)) for t in described)
        return {"path": final, "name": name, "rows": row_count, "manifest": manifest_part,
                "sha256": sha256_file(str(final)), "bytes": final.stat().st_size}
    finally:
        for leftover in sorted(work.glob("*"), reverse=True):
            leftover.unlink(missing_ok=True)
        work.rmdir()


def _fsync(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

