"""CDISC ODM 1.3.2 XML: Study metadata (MetaDataVersion: forms, item groups, items, code lists, units, range
checks), AdminData locations (sites) and ClinicalData, streamed subject by subject.

OIDs follow the clinicedc mapping (domain/INTEROP.md §3.3): `S.<study>`, `F.<form>`, `IG.<form>`,
`I.<form>.<item>`, `CL.<form>.<item>`, `LOC.<site>`. The registry has no visit schedule, so one common study
event `SE.REGISTRY` holds every form; repeating forms carry a FormRepeatKey. Empty values are left out
(snapshot files); a missing value's reason is an item of its own (`<field>_missing_reason`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO
from xml.sax.saxutils import XMLGenerator

from registry.exports.writers.columns import Column, text

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
EVENT_OID = "SE.REGISTRY"
DATA_TYPES = {"string": "text", "text": "text", "integer": "integer", "float": "float", "date": "date",
              "boolean": "boolean"}


@dataclass(frozen=True)
class OdmForm:
    code: str
    label: str
    repeating: bool
    columns: Sequence[Column]

    @property
    def oid(self) -> str:
        return f"F.{self.code.upper()}"

    @property
    def group_oid(self) -> str:
        return f"IG.{self.code.upper()}"

    def item_oid(self, column: Column) -> str:
        return f"I.{self.code.upper()}.{column.name.upper()}"

    def codelist_oid(self, column: Column) -> str:
        return f"CL.{self.code.upper()}.{column.name.upper()}"


@dataclass(frozen=True)
class OdmStudy:
    oid: str
    name: str
    description: str
    protocol: str
    mdv_oid: str = "MDV.1"
    mdv_name: str = "Metadata version 1"
    locations: Sequence[tuple[str, str]] = field(default_factory=tuple)  # (site code, site name)
    source_system: str = "NEN Registry"
    source_system_version: str = ""


@dataclass
class OdmSubject:
    key: str
    site_code: str | None
    #: (form code, repeat key or None, values aligned with the form's columns)
    forms: list[tuple[str, int | None, Sequence[Any]]]


def location_oid(site_code: str) -> str:
    return f"LOC.{site_code}"


def unit_oid(unit: str) -> str:
    return "MU." + (re.sub(r"[^A-Za-z0-9]+", "_", unit).strip("_").upper() or "UNIT")


def _odm_value(column: Column, value: Any) -> str:
    return text(value)


class _Xml:
    def __init__(self, out: BinaryIO) -> None:
        self.gen = XMLGenerator(out, encoding="utf-8", short_empty_elements=True)

    def start(self, name: str, **attrs: Any) -> None:
        self.gen.startElement(name, {k: str(v) for k, v in attrs.items() if v is not None})

    def end(self, name: str) -> None:
        self.gen.endElement(name)

    def empty(self, name: str, **attrs: Any) -> None:
        self.start(name, **attrs)
        self.end(name)

    def text_element(self, name: str, value: str, **attrs: Any) -> None:
        self.start(name, **attrs)
        self.gen.characters(value)
        self.end(name)

    def translated(self, name: str, value: str) -> None:
        self.start(name)
        self.text_element("TranslatedText", value, **{"xml:lang": "en"})
        self.end(name)


def _metadata(x: _Xml, study: OdmStudy, forms: Sequence[OdmForm]) -> None:
    units: dict[str, str] = {}
    for form in forms:
        for c in form.columns:
            if c.unit:
                units.setdefault(unit_oid(c.unit), c.unit)
    x.start("Study", OID=study.oid)
    x.start("GlobalVariables")
    x.text_element("StudyName", study.name)
    x.text_element("StudyDescription", study.description)
    x.text_element("ProtocolName", study.protocol)
    x.end("GlobalVariables")
    if units:
        x.start("BasicDefinitions")
        for oid, symbol in units.items():
            x.start("MeasurementUnit", OID=oid, Name=symbol)
            x.translated("Symbol", symbol)
            x.end("MeasurementUnit")
        x.end("BasicDefinitions")
    x.start("MetaDataVersion", OID=study.mdv_oid, Name=study.mdv_name)
    x.start("Protocol")
    x.empty("StudyEventRef", StudyEventOID=EVENT_OID, OrderNumber=1, Mandatory="Yes")
    x.end("Protocol")
    x.start("StudyEventDef", OID=EVENT_OID, Name="Registry", Repeating="No", Type="Common")
    for i, form in enumerate(forms, start=1):
        x.empty("FormRef", FormOID=form.oid, OrderNumber=i, Mandatory="No")
    x.end("StudyEventDef")
    for form in forms:
        x.start("FormDef", OID=form.oid, Name=form.label, Repeating="Yes" if form.repeating else "No")
        x.empty("ItemGroupRef", ItemGroupOID=form.group_oid, Mandatory="Yes")
        x.end("FormDef")
    for form in forms:
        x.start("ItemGroupDef", OID=form.group_oid, Name=form.label, Repeating="No")
        for i, c in enumerate(form.columns, start=1):
            x.empty("ItemRef", ItemOID=form.item_oid(c), OrderNumber=i, Mandatory="No")
        x.end("ItemGroupDef")
    for form in forms:
        for c in form.columns:
            x.start("ItemDef", OID=form.item_oid(c), Name=c.name, DataType=_item_type(c))
            if c.description:
                x.translated("Description", c.description)
            x.translated("Question", c.label or c.name)
            if c.unit:
                x.empty("MeasurementUnitRef", MeasurementUnitOID=unit_oid(c.unit))
            for comparator, bound in (("GE", c.minimum), ("LE", c.maximum)):
                if bound is not None:
                    x.start("RangeCheck", Comparator=comparator, SoftHard="Hard")
                    x.text_element("CheckValue", str(bound))
                    x.end("RangeCheck")
            if c.value_labels and c.kind != "boolean":
                x.empty("CodeListRef", CodeListOID=form.codelist_oid(c))
            x.end("ItemDef")
    for form in forms:
        for c in form.columns:
            if c.value_labels and c.kind != "boolean":
                x.start("CodeList", OID=form.codelist_oid(c), Name=f"{form.code}.{c.name}",
                        DataType="integer" if _item_type(c) == "integer" else "text")
                for code, label in c.value_labels.items():
                    x.start("CodeListItem", CodedValue=text(code))
                    x.translated("Decode", str(label))
                    x.end("CodeListItem")
                x.end("CodeList")
    x.end("MetaDataVersion")
    x.end("Study")


def _item_type(column: Column) -> str:
    return DATA_TYPES[column.kind]


def write_odm(out: BinaryIO, study: OdmStudy, forms: Sequence[OdmForm], subjects: Iterable[OdmSubject], *,
              created: datetime, file_oid: str, on_subject: Callable[[OdmSubject], None] | None = None) -> int:
    """Write a snapshot ODM file; returns the number of subjects. `created` must be timezone-aware."""
    by_code = {f.code: f for f in forms}
    x = _Xml(out)
    x.gen.startDocument()
    x.start("ODM", xmlns=ODM_NS, FileType="Snapshot", Granularity="All", FileOID=file_oid,
            CreationDateTime=created.isoformat(timespec="seconds"), ODMVersion="1.3.2",
            SourceSystem=study.source_system, SourceSystemVersion=study.source_system_version or None)
    _metadata(x, study, forms)
    if study.locations:
        x.start("AdminData")
        for code, name in study.locations:
            x.start("Location", OID=location_oid(code), Name=name, LocationType="Site")
            x.empty("MetaDataVersionRef", StudyOID=study.oid, MetaDataVersionOID=study.mdv_oid,
                    EffectiveDate=created.date().isoformat())
            x.end("Location")
        x.end("AdminData")
    x.start("ClinicalData", StudyOID=study.oid, MetaDataVersionOID=study.mdv_oid)
    n = 0
    for subject in subjects:
        x.start("SubjectData", SubjectKey=subject.key)
        if subject.site_code:
            x.empty("SiteRef", LocationOID=location_oid(subject.site_code))
        if subject.forms:
            x.start("StudyEventData", StudyEventOID=EVENT_OID)
            for code, repeat_key, values in subject.forms:
                form = by_code[code]
                x.start("FormData", FormOID=form.oid, FormRepeatKey=repeat_key)
                x.start("ItemGroupData", ItemGroupOID=form.group_oid)
                for c, v in zip(form.columns, values, strict=True):
                    if v is not None and v != "":
                        x.empty("ItemData", ItemOID=form.item_oid(c), Value=_odm_value(c, v))
                x.end("ItemGroupData")
                x.end("FormData")
            x.end("StudyEventData")
        x.end("SubjectData")
        n += 1
        if on_subject is not None:
            on_subject(subject)
    x.end("ClinicalData")
    x.end("ODM")
    x.gen.endDocument()
    return n
