"""The REDCap-compatible API, driven by the real PyCap client against a live server."""

import pytest
import requests
from redcap import Project, RedcapError

from registry.exports.models import ExportJob, JobSource
from tests.factories.exports import RedcapTokenFactory, cohort

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def api_url(live_server):
    return live_server.url + "/redcap/api/"


@pytest.fixture
def data(site_a, site_b, seeded_regimens):
    return {"a": cohort(site_a, 2), "b": cohort(site_b, 1)}


def test_pycap_reads_metadata_field_names_and_records(api_url, data, data_manager):
    token = RedcapTokenFactory(user=data_manager).token
    project = Project(api_url, token)
    assert str(project.export_version()) == "14.5.0"
    assert project.export_project_info()["is_longitudinal"] == 0
    meta = project.export_metadata()
    assert meta[0]["field_name"] == "record_id" and project.def_field == "record_id"
    assert set(meta[0]) >= {"field_name", "form_name", "field_type", "select_choices_or_calculations",
                            "text_validation_type_or_show_slider_number", "field_annotation"}
    sex = next(m for m in meta if m["field_name"] == "sex")
    assert (sex["form_name"], sex["field_type"]) == ("baseline", "dropdown")
    assert sex["select_choices_or_calculations"] == "male, Male | female, Female"
    assert {"treatment_intent", "other_treatment_intent"} <= {m["field_name"] for m in meta}
    names = project.export_field_names()
    assert {"original_field_name": "metastatic_sites", "choice_value": "liver",
            "export_field_name": "metastatic_sites___liver"} in names
    assert [i["instrument_name"] for i in project.export_instruments()][:2] == ["enrolment", "baseline"]
    assert project.is_longitudinal is False  # formEventMapping answers with an error, as for a classic project

    records = project.export_records()
    ids = {r["record_id"] for r in records}
    assert ids == {p.study_id for p in data["a"] + data["b"]}
    main = next(r for r in records if r["record_id"] == data["a"][0].study_id and r["redcap_repeat_instrument"] == "")
    assert main["sex"] == "male" and main["ecog_ps"] == "1" and main["baseline_complete"] == "0"
    assert main["metastatic_sites___liver"] == "1" and main["metastatic_sites___bone"] == "0"
    assert main["eligible"] == "1"
    lines = [r for r in records if r["redcap_repeat_instrument"] == "treatment"]
    assert len(lines) == 3 and lines[0]["redcap_repeat_instance"] == "1" and lines[0]["line_number"] == "1"


def test_pycap_filters_and_labels(api_url, data, data_manager):
    project = Project(api_url, RedcapTokenFactory(user=data_manager).token)
    one = data["a"][1].study_id
    rows = project.export_records(records=[one], fields=["sex", "ecog_ps"])
    assert rows == [{"record_id": one, "redcap_repeat_instrument": "", "redcap_repeat_instance": "",
                     "sex": "male", "ecog_ps": "1"}]
    labelled = project.export_records(records=[one], fields=["sex", "ecog_ps", "eligible"], raw_or_label="label")
    assert labelled[0]["sex"] == "Male" and labelled[0]["ecog_ps"].startswith("1 —")
    assert labelled[0]["eligible"] == "Yes"
    forms = project.export_records(records=[one], forms=["followup"])
    assert {r["redcap_repeat_instrument"] for r in forms} == {"followup"}
    assert forms[0]["vital_status"] == "alive" and "sex" not in forms[0]
    df = project.export_records(format_type="df", forms=["baseline"])
    assert set(df.index) == {p.study_id for p in data["a"] + data["b"]}
    csv_text = project.export_records(format_type="csv", fields=["sex"])
    assert csv_text.splitlines()[0] == "record_id,redcap_repeat_instrument,redcap_repeat_instance,sex"
    assert ExportJob.objects.filter(source=JobSource.REDCAP_API, requested_by=data_manager).count() == 5


def test_site_user_sees_only_their_site(api_url, data, coordinator_b):
    project = Project(api_url, RedcapTokenFactory(user=coordinator_b).token)
    assert {r["record_id"] for r in project.export_records(fields=["sex"])} == {data["b"][0].study_id}
    assert project.export_records(records=[data["a"][0].study_id], fields=["sex"]) == []


def test_statistician_gets_no_free_text_and_shifted_dates(api_url, data, statistician, data_manager):
    stat = Project(api_url, RedcapTokenFactory(user=statistician).token)
    full = Project(api_url, RedcapTokenFactory(user=data_manager).token)
    assert "details" not in {m["field_name"] for m in stat.export_metadata()}
    with pytest.raises(RedcapError):
        stat.export_records(fields=["details"])
    one = data["a"][0].study_id
    shifted = stat.export_records(records=[one], fields=["registration_date"])[0]["registration_date"]
    real = full.export_records(records=[one], fields=["registration_date"])[0]["registration_date"]
    assert shifted and shifted != real


def _flat_from_eav(eav, flat_columns, checkbox_fields):
    """Rebuild flat rows from EAV rows (what REDCap users do to pivot them), to compare with the flat export."""
    rows = {}
    for item in eav:
        key = (item["record"], item["redcap_repeat_instrument"], item["redcap_repeat_instance"])
        row = rows.setdefault(key, {"record_id": key[0], "redcap_repeat_instrument": key[1],
                                    "redcap_repeat_instance": key[2]})
        if item["field_name"] in checkbox_fields:
            row[f"{item['field_name']}___{item['value']}"] = "1"
        else:
            row[item["field_name"]] = item["value"]
    return [{**dict.fromkeys(flat_columns, ""), **row} for row in rows.values()]


def _unchecked_as_blank(rows):
    """EAV leaves unchecked options out, like blanks: an unchecked "0" and a blank are the same there."""
    return [{k: "" if "___" in k and v == "0" else v for k, v in row.items()} for row in rows]


def test_pycap_eav_export_holds_every_data_point_of_the_flat_export(api_url, data, data_manager, coordinator_b):
    project = Project(api_url, RedcapTokenFactory(user=data_manager).token)
    flat = project.export_records()
    eav = project.export_records(record_type="eav")
    assert set(eav[0]) == {"record", "redcap_repeat_instrument", "redcap_repeat_instance", "field_name", "value"}
    assert all(item["value"] != "" for item in eav)  # blanks are left out, as REDCap does
    checkboxes = {n["original_field_name"] for n in project.export_field_names()
                  if n["export_field_name"] != n["original_field_name"]}
    one = data["a"][0].study_id
    assert {"record": one, "redcap_repeat_instrument": "", "redcap_repeat_instance": "",
            "field_name": "metastatic_sites", "value": "liver"} in eav  # a checked option is a row of its own
    assert not [i for i in eav if i["field_name"].startswith("metastatic_sites___")]
    columns = list(flat[0])
    key = lambda r: (r["record_id"], r["redcap_repeat_instrument"], r["redcap_repeat_instance"])  # noqa: E731
    assert sorted(_flat_from_eav(eav, columns, checkboxes), key=key) == sorted(_unchecked_as_blank(flat), key=key)
    labelled = project.export_records(record_type="eav", records=[one], fields=["sex", "metastatic_sites"],
                                      raw_or_label="label")
    assert {(i["field_name"], i["value"]) for i in labelled} >= {("sex", "Male"), ("metastatic_sites", "Liver")}
    csv_text = project.export_records(record_type="eav", format_type="csv", records=[one], fields=["sex"])
    assert csv_text.splitlines() == ["record,redcap_repeat_instrument,redcap_repeat_instance,field_name,value",
                                     f"{one},,,record_id,{one}", f"{one},,,sex,male"]
    site_b = Project(api_url, RedcapTokenFactory(user=coordinator_b).token).export_records(record_type="eav")
    assert {i["record"] for i in site_b} == {data["b"][0].study_id}
    bad = requests.post(api_url, data={"token": RedcapTokenFactory(user=data_manager).token, "content": "record",
                                       "format": "json", "type": "long"}, timeout=30)
    assert bad.status_code == 400 and '"type"' in bad.json()["error"]


def test_errors_as_redcap_returns_them(api_url, data, data_manager):
    bad = requests.post(api_url, data={"token": "0" * 32, "content": "record", "format": "json"}, timeout=30)
    assert bad.status_code == 403 and bad.json() == {"error": "You do not have permissions to use the API"}
    short = requests.post(api_url, data={"token": "ABC", "content": "record", "format": "json"}, timeout=30)
    assert short.status_code == 403 and short.json()["error"] == "You do not have permissions to use the API"
    with pytest.raises(AssertionError):
        Project(api_url, "ABC")  # PyCap itself refuses a token that is not 32 characters
    with pytest.raises(RedcapError, match="do not have permissions"):
        Project(api_url, "F" * 32).export_records()
    token = RedcapTokenFactory(user=data_manager).token
    fem = requests.post(api_url, data={"token": token, "content": "formEventMapping", "format": "json"}, timeout=30)
    assert fem.status_code == 400 and fem.json() == {"error": "You cannot export form/event mappings for classic "
                                                              "projects"}
    with pytest.raises(RedcapError):
        Project(api_url, token).export_instrument_event_mappings()
    unknown = requests.post(api_url, data={"token": token, "content": "bogus", "format": "json"}, timeout=30)
    assert unknown.status_code == 400 and "content" in unknown.json()["error"]
    xml = requests.post(api_url, data={"token": "0" * 32, "content": "record"}, timeout=30)
    assert xml.status_code == 403 and "<error>You do not have permissions to use the API</error>" in xml.text
    bad_field = requests.post(api_url, data={"token": token, "content": "record", "format": "json",
                                             "fields[0]": "nope"}, timeout=30)
    assert bad_field.status_code == 400 and '"nope"' in bad_field.json()["error"]
    revoked = RedcapTokenFactory(user=data_manager, is_active=False).token
    assert requests.post(api_url, data={"token": revoked, "content": "version"}, timeout=30).status_code == 403
