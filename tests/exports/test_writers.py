"""Round trips of the pure writers: each format read back by its own reader equals the source rows."""

import csv
import io
import json
import zipfile
from datetime import date
from decimal import Decimal

import pyarrow.parquet as pq
import pyreadstat
import pytest
from odmlib import loader as odm_loader_facade
from odmlib import odm_loader
from odmlib.odm_parser import ODMSchemaValidator
from openpyxl import load_workbook

from registry.exports.writers.bundle import sha256_file, write_bundle
from registry.exports.writers.columns import Column, Table, label_of
from registry.exports.writers.csv import write_csv
from registry.exports.writers.odm import OdmForm, OdmStudy, OdmSubject, write_odm
from registry.exports.writers.parquet import write_parquet
from registry.exports.writers.redcap_dd import HEADER, write_data_dictionary
from registry.exports.writers.stats import numeric_codes, to_python, write_dta, write_sav
from registry.exports.writers.xlsx import write_xlsx

SEX = {"male": "Male", "female": "Female"}
PS = {0: "0 — fully active", 1: "1 — restricted", 2: "2 — ambulatory"}
COLUMNS = [
    Column("study_id", "Study id", "string"),
    Column("sex", "Sex", "string", SEX),
    Column("ecog_ps", "ECOG PS", "integer", PS, minimum=0, maximum=4),
    Column("weight_kg", "Weight", "float", unit="kg", minimum=25, maximum=250),
    Column("date_of_diagnosis", "Date of diagnosis", "date"),
    Column("eligible", "Eligible", "boolean", {True: "Yes", False: "No"}),
    Column("notes", "Notes", "text"),
    Column("metastatic_sites___liver", "Metastatic sites: Liver", "integer", {0: "Unchecked", 1: "Checked"}),
]
ROWS = [
    ["OUS-0001", "male", 1, Decimal("74.5"), date(2024, 3, 1), True, "line one, with comma", 1],
    ["OUS-0002", "female", 0, None, date(2023, 12, 31), False, "ÆØÅ «quoted» \"x\"", 0],
    ["AUH-0001", None, None, Decimal("60.0"), None, None, None, 0],
]


def normalised(row):
    return [float(v) if isinstance(v, Decimal) else v for v in row]


def test_csv_raw_and_labels_round_trip():
    raw, labelled = io.StringIO(newline=""), io.StringIO(newline="")
    assert write_csv(raw, COLUMNS, iter(ROWS)) == 3
    write_csv(labelled, COLUMNS, iter(ROWS), labels=True)
    back = list(csv.reader(io.StringIO(raw.getvalue())))
    assert back[0] == [c.name for c in COLUMNS]
    assert back[1] == ["OUS-0001", "male", "1", "74.5", "2024-03-01", "1", "line one, with comma", "1"]
    assert back[3] == ["AUH-0001", "", "", "60.0", "", "", "", "0"]
    labels = list(csv.reader(io.StringIO(labelled.getvalue())))
    assert labels[1][:3] == ["OUS-0001", "Male", "1 — restricted"]
    assert labels[2][5] == "No" and labels[1][7] == "Checked"


def test_csv_writer_consumes_rows_lazily():
    """Bounded memory: the writer holds at most one batch of rows it has not written yet; a generator that fails
    if the writer runs further ahead proves it."""
    from registry.exports.writers import csv as csv_writer

    out = io.StringIO(newline="")
    pulled = []

    def rows():
        for i in range(10_000):
            written = out.getvalue().count("\r\n") - 1
            assert i - written <= csv_writer.BATCH, "writer materialised its input"
            pulled.append(i)
            yield [f"P{i}", "male", 1, Decimal("70"), date(2024, 1, 1), True, "", 0]

    assert write_csv(out, COLUMNS, rows()) == 10_000
    assert len(pulled) == 10_000 and csv_writer.BATCH < 10_000


def test_xlsx_round_trip_with_openpyxl(tmp_path):
    path = tmp_path / "x.xlsx"
    counts = write_xlsx(str(path), [Table("baseline", "Baseline", COLUMNS, iter(ROWS))])
    assert counts == {"baseline": 3}
    ws = load_workbook(path, read_only=True)["baseline"]
    got = [list(r) for r in ws.iter_rows(values_only=True)]
    assert got[0] == [c.name for c in COLUMNS]
    first = got[1]
    assert first[:4] == ["OUS-0001", "male", 1, 74.5]
    assert first[4].date() == date(2024, 3, 1)
    assert first[5] == 1 and first[6] == "line one, with comma"
    assert got[3][1] is None and got[3][3] == 60.0


@pytest.mark.parametrize("writer,reader", [(write_sav, pyreadstat.read_sav), (write_dta, pyreadstat.read_dta)])
def test_spss_and_stata_round_trip_values_and_value_labels(tmp_path, writer, reader):
    path = tmp_path / "x.bin"
    meta = writer(str(path), COLUMNS, iter(ROWS), file_label="Baseline")
    assert meta["rows"] == 3
    df, info = reader(str(path))
    assert list(df.columns) == [c.name for c in COLUMNS]
    assert info.column_names_to_labels["weight_kg"] == "Weight"
    # codes come back as numbers; their value labels are the source labels
    sex_labels = info.variable_value_labels["sex"]
    assert {sex_labels[k] for k in sex_labels} == {"Male", "Female"}
    numbers = numeric_codes(COLUMNS[1])
    for row, (_, back) in zip(ROWS, df.iterrows(), strict=True):
        src = normalised(row)
        got = [to_python(v) for v in back]
        assert got[0] == src[0]
        assert got[1] == (None if src[1] is None else numbers[src[1]])
        assert (sex_labels.get(got[1]) if got[1] is not None else None) == label_of(COLUMNS[1], src[1])
        assert got[2] == src[2] and got[3] == src[3] and got[4] == src[4]
        assert got[5] == (None if src[5] is None else int(src[5]))
        assert (got[6] or None) == src[6]
        assert got[7] == src[7]
    assert info.variable_value_labels["ecog_ps"] == {float(k): v for k, v in PS.items()} or \
        info.variable_value_labels["ecog_ps"] == PS
    assert info.variable_value_labels["eligible"] in ({1: "Yes", 0: "No"}, {1.0: "Yes", 0.0: "No"})


def test_stata_names_are_shortened_uniquely(tmp_path):
    cols = [Column("clinical_progression_date_precision_long_name_a"),
            Column("clinical_progression_date_precision_long_name_b")]
    meta = write_dta(str(tmp_path / "n.dta"), cols, iter([["a", "b"]]))
    df, _ = pyreadstat.read_dta(str(tmp_path / "n.dta"))
    assert all(len(n) <= 32 for n in df.columns) and len(set(df.columns)) == 2
    assert set(meta["names"]) == {c.name for c in cols}


def test_parquet_round_trip_in_row_groups(tmp_path):
    path = tmp_path / "x.parquet"
    rows = ROWS * 5
    meta = write_parquet(str(path), COLUMNS, iter(rows), row_group_size=4)
    assert meta == {"rows": 15, "row_groups": 4}
    pf = pq.ParquetFile(path)
    assert pf.num_row_groups == 4
    table = pf.read()
    assert table.to_pylist()[0] == dict(zip([c.name for c in COLUMNS], normalised(ROWS[0]), strict=True))
    assert [list(r.values()) for r in table.to_pylist()] == [normalised(r) for r in rows]
    labels = json.loads(table.schema.field("sex").metadata[b"value_labels"])
    assert labels == SEX


def test_odm_is_schema_valid_and_loads_back_with_odmlib(tmp_path):
    from datetime import UTC, datetime

    path = tmp_path / "odm.xml"
    form = OdmForm("baseline", "Demographics", False, COLUMNS[1:])
    repeating = OdmForm("labs", "Labs", True, [Column("value", "Value", "float", unit="U/L")])
    subjects = [OdmSubject(r[0], "OUS", [("baseline", None, r[1:]), ("labs", 1, [Decimal("1.5")]),
                                         ("labs", 2, [Decimal("2")])]) for r in ROWS]
    study = OdmStudy("S.TEST", "Test", "A test study", "TEST", locations=(("OUS", "Oslo"),))
    with open(path, "wb") as out:
        n = write_odm(out, study, [form, repeating], iter(subjects), created=datetime(2025, 1, 2, tzinfo=UTC),
                      file_oid="F.1")
    assert n == 3
    assert ODMSchemaValidator(standard="odm", version="1.3.2").xsd.is_valid(str(path))
    loader = odm_loader_facade.ODMLoader(odm_loader.XMLODMLoader(model_package="odm_1_3_2"))
    loader.open_odm_document(str(path))
    odm = loader.root()
    mdv = odm.Study[0].MetaDataVersion[0]
    items = {i.OID: i for i in mdv.ItemDef}
    assert items["I.BASELINE.SEX"].CodeListRef.CodeListOID == "CL.BASELINE.SEX"
    codelists = {c.OID: {i.CodedValue: i.Decode.TranslatedText[0]._content for i in c.CodeListItem}
                 for c in mdv.CodeList}
    assert codelists["CL.BASELINE.SEX"] == SEX
    subjects_back = odm.ClinicalData[0].SubjectData
    assert [s.SubjectKey for s in subjects_back] == [r[0] for r in ROWS]
    for src, subject in zip(ROWS, subjects_back, strict=True):
        forms = subject.StudyEventData[0].FormData
        base = {i.ItemOID: i.Value for i in forms[0].ItemGroupData[0].ItemData}
        expected = {f"I.BASELINE.{c.name.upper()}": v for c, v in zip(COLUMNS[1:], src[1:], strict=True)
                    if v is not None}
        assert set(base) == set(expected)
        for oid, value in expected.items():
            text = value.isoformat() if isinstance(value, date) else ("1" if value is True else "0" if value is False
                                                                      else str(value))
            assert base[oid] == text
        assert [f.FormRepeatKey for f in forms[1:]] == ["1", "2"]


def test_redcap_dictionary_has_the_18_columns_in_order():
    out = io.StringIO(newline="")
    rows = [{"field_name": "record_id", "form_name": "enrolment", "field_type": "text", "field_label": "Id"},
            {"field_name": "sex", "form_name": "baseline", "field_type": "dropdown", "field_label": "Sex",
             "select_choices_or_calculations": "male, Male | female, Female", "required_field": "y"}]
    assert write_data_dictionary(out, rows) == 2
    back = list(csv.reader(io.StringIO(out.getvalue())))
    assert back[0] == list(HEADER) and len(HEADER) == 18
    assert back[0][0] == "Variable / Field Name" and back[0][-1] == "Field Annotation"
    assert back[2][:6] == ["sex", "baseline", "", "dropdown", "Sex", "male, Male | female, Female"]
    assert back[2][12] == "y"
    with pytest.raises(ValueError):
        write_data_dictionary(io.StringIO(), [{"field_name": "x", "form_name": "f", "field_type": "bogus"}])


def test_bundle_lists_members_with_checksums(tmp_path):
    a = tmp_path / "a.csv"
    a.write_text("x\n1\n")
    manifest = write_bundle(str(tmp_path / "b.zip"), [("a.csv", str(a))], {"export_job": 1})
    with zipfile.ZipFile(tmp_path / "b.zip") as zf:
        inside = json.loads(zf.read("manifest.json"))
        assert zf.read("a.csv") == b"x\n1\n"
    assert inside == manifest
    assert inside["files"] == [{"name": "a.csv", "bytes": 4, "sha256": sha256_file(str(a))}]
