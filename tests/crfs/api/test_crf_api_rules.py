"""The API applies the services' rules: optimistic locking (If-Match → 412/428), reasons for change recorded
in the audit trail, edit checks (hard error → 400 with field and rule; warning → saved and listed), and
bad input → 400 naming the field, never a 500."""

from decimal import Decimal

import pytest

from registry.crfs.models import EditCheckFinding, LabResult
from tests.crfs.api.conftest import collection_url, create_data, form_url, if_match, state

pytestmark = pytest.mark.django_db


def last_event(form):
    return type(form).pgh_event_model.objects.filter(pgh_obj_id=form.pk).order_by("pgh_id").last()


def test_stale_if_match_gets_412_with_the_current_version(casebook, api_client, coordinator_a):
    client, form = api_client(coordinator_a), casebook["tumour"]
    url = form_url(casebook, "tumour")
    assert client.patch(url, {"tnm_t": "T3"}, format="json", HTTP_IF_MATCH='"1"').status_code == 200
    stale = client.patch(url, {"tnm_t": "T4"}, format="json", HTTP_IF_MATCH='"1"')
    assert stale.status_code == 412
    assert (stale.json()["code"], stale.json()["current_version"], stale["ETag"]) == ("stale_version", 2, '"2"')
    form.refresh_from_db()
    assert (form.tnm_t, form.version) == ("T3", 2)
    assert client.post(form_url(casebook, "tumour", "submit"), format="json", HTTP_IF_MATCH='"1"').status_code == 412
    labs = casebook["labs"]
    assert client.delete(form_url(casebook, "labs"), HTTP_IF_MATCH='"7"').status_code == 412
    assert LabResult.objects.filter(pk=labs.pk).exists()


def test_missing_if_match_gets_428_on_every_write(casebook, api_client, coordinator_a, monitor_a, data_manager):
    form = casebook["labs"]
    before = state(form)
    writes = [
        (coordinator_a, "put", form_url(casebook, "labs"), create_data("labs")),
        (coordinator_a, "patch", form_url(casebook, "labs"), {"assay_name": "x"}),
        (coordinator_a, "delete", form_url(casebook, "labs"), None),
        (coordinator_a, "post", form_url(casebook, "labs", "submit"), {}),
        (monitor_a, "post", form_url(casebook, "labs", "verify"), {}),
        (data_manager, "post", form_url(casebook, "labs", "lock"), {}),
        (data_manager, "post", form_url(casebook, "labs", "unlock"), {"reason": "x"}),
    ]
    for user, method, url, body in writes:
        response = getattr(api_client(user), method)(url, body, format="json")
        assert response.status_code == 428, (method, url, response.content)
        assert response.json()["code"] == "precondition_required"
    assert state(form) == before


def test_if_match_format(casebook, api_client, coordinator_a):
    client, url = api_client(coordinator_a), form_url(casebook, "baseline")
    for bad in ("*", "abc", 'W/"1"', '"1", "2"'):
        response = client.patch(url, {"ecog_ps": 2}, format="json", HTTP_IF_MATCH=bad)
        assert (response.status_code, list(response.json()["errors"])) == (400, ["If-Match"])
    assert client.patch(url, {"ecog_ps": 2}, format="json", HTTP_IF_MATCH="1").status_code == 200


def test_body_is_validated_before_if_match(casebook, api_client, coordinator_a):
    client, url = api_client(coordinator_a), form_url(casebook, "baseline")
    for headers in ({"HTTP_IF_MATCH": '"9"'}, {}):
        response = client.patch(url, {"sex": "x"}, format="json", **headers)
        assert (response.status_code, list(response.json()["errors"])) == (400, ["sex"])


@pytest.mark.parametrize("via", ["body", "header"])
def test_reason_for_change_required_once_submitted_and_recorded(via, casebook, api_client, coordinator_a):
    client, form = api_client(coordinator_a), casebook["tumour"]
    url = form_url(casebook, "tumour")
    assert client.post(form_url(casebook, "tumour", "submit"), format="json", **if_match(form)).status_code == 200
    refused = client.patch(url, {"liver_tumour_burden": "<25%"}, format="json", **if_match(form))
    assert refused.status_code == 400
    assert (refused.json()["rule"], list(refused.json()["errors"])) == ("reason_required", ["reason"])
    reason = "Corrected from the CT report"
    body, headers = {"liver_tumour_burden": "<25%"}, if_match(form)
    if via == "body":
        body["reason"] = reason
    else:
        headers["HTTP_X_CHANGE_REASON"] = reason
    response = client.patch(url, body, format="json", **headers)
    assert response.status_code == 200, response.content
    event = last_event(form)
    assert event.liver_tumour_burden == "<25%"
    assert event.pgh_context.metadata["reason"] == reason
    assert event.pgh_context.metadata["user"] == coordinator_a.pk


def test_deleting_a_submitted_form_needs_a_reason(casebook, api_client, coordinator_a):
    client, form = api_client(coordinator_a), casebook["followup"]
    url = form_url(casebook, "followup")
    client.post(form_url(casebook, "followup", "submit"), format="json", **if_match(form))
    refused = client.delete(url, **if_match(form))
    assert (refused.status_code, list(refused.json()["errors"])) == (400, ["reason"])
    assert client.delete(url, HTTP_X_CHANGE_REASON="Entered twice", **if_match(form)).status_code == 204
    event = type(form).pgh_event_model.objects.filter(pgh_obj_id=form.pk, pgh_label="delete").get()
    assert event.pgh_context.metadata["reason"] == "Entered twice"


def test_unlock_reason_is_recorded(casebook, api_client, coordinator_a, data_manager):
    form = casebook["baseline"]
    api_client(coordinator_a).post(form_url(casebook, "baseline", "submit"), format="json", **if_match(form))
    manager = api_client(data_manager)
    manager.post(form_url(casebook, "baseline", "lock"), format="json", **if_match(form))
    response = manager.post(form_url(casebook, "baseline", "unlock"), {"reason": "Query on PS"}, format="json",
                            **if_match(form))
    assert response.status_code == 200
    assert last_event(form).pgh_context.metadata["reason"] == "Query on PS"
    assert last_event(form).pgh_context.metadata["action"] == "baseline.unlock"


def test_hard_edit_check_error_is_400_with_field_and_rule(casebook, api_client, coordinator_a):
    client, form = api_client(coordinator_a), casebook["pathology"]
    response = client.patch(form_url(casebook, "pathology"), {"ki67_percent": "150"}, format="json",
                            HTTP_IF_MATCH='"1"')
    assert response.status_code == 400
    body = response.json()
    assert (body["rule"], list(body["errors"])) == ("EC14", ["ki67_percent"])
    form.refresh_from_db()
    assert (form.ki67_percent, form.version) == (Decimal("80.0"), 1)
    created = client.post(collection_url(casebook, "response"),
                          {**create_data("response"), "overall_response": "CR", "new_lesions": True}, format="json")
    assert (created.status_code, created.json()["rule"]) == (400, "EC27")
    assert casebook["treatment"].evaluations.count() == 1


def test_warning_is_saved_and_listed(casebook, api_client, coordinator_a, coordinator_b):
    client, patient = api_client(coordinator_a), casebook["patient"]
    response = client.patch(form_url(casebook, "pathology"), {"ki67_percent": 18, "mitoses_per_2mm2": 30},
                            format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 200
    warning = next(f for f in response.json()["findings"] if f["rule"] == "EC20")
    assert (warning["severity"], warning["field"], warning["object_id"]) == ("W", "ki67_percent",
                                                                              casebook["pathology"].pk)
    listed = client.get("/api/v1/findings/", {"rule": "EC20", "patient": patient.pk}).json()["results"]
    assert [f["id"] for f in listed] == [warning["id"]]
    assert warning["id"] in [f["id"] for f in client.get(f"/api/v1/patients/{patient.pk}/").json()["findings"]]
    assert api_client(coordinator_b).get("/api/v1/findings/", {"rule": "EC20"}).json()["results"] == []
    submitted = client.post(form_url(casebook, "pathology", "submit"), format="json", HTTP_IF_MATCH='"2"')
    assert submitted.status_code == 200


def test_submit_names_the_missing_required_fields(casebook, api_client, coordinator_a):
    client = api_client(coordinator_a)
    line = client.post(collection_url(casebook, "treatment"), {"line_number": 2}, format="json").json()
    response = client.post(f"{collection_url(casebook, 'treatment')}{line['id']}/submit/", format="json",
                           HTTP_IF_MATCH='"1"')
    assert (response.status_code, response.json()["rule"]) == (400, "required")
    assert set(response.json()["errors"]) == {"intent", "regimen", "start_date"}


BAD_INPUT = [
    ("baseline", {"sex": "unknown"}, "sex"),
    ("baseline", {"weight_kg": "heavy"}, "weight_kg"),
    ("baseline", {"weight_kg": 1e12}, "weight_kg"),
    ("baseline", {"weight_kg": 10}, "weight_kg"),
    ("baseline", {"ecog_ps": 7}, "ecog_ps"),
    ("baseline", {"ecog_ps": True}, "ecog_ps"),
    ("baseline", {"date_of_birth": "1960-02-30"}, "date_of_birth"),
    ("baseline", {"ecog_ps": 1, "ecog_ps_missing_reason": "not_done"}, "ecog_ps_missing_reason"),
    ("baseline", {"no_such_field": 1}, "no_such_field"),
    ("tumour", {"metastatic_sites": ["moon"]}, "metastatic_sites"),
    ("tumour", {"metastatic_sites": None}, "metastatic_sites"),
    ("treatment", {"regimen": "no_such_regimen"}, "regimen"),
    ("treatment", {"line_number": 0}, "line_number"),
    ("treatment", {"n_cycles": "four"}, "n_cycles"),
    ("labs", {"value": "NaN"}, "value"),
    ("labs", {"line": 2**40}, "line"),
    ("pathology", {"report_text": "a\x00b"}, "report_text"),
    ("pathology", {"is_diagnostic": None}, "is_diagnostic"),
    ("pathology", {"ki67_percent": "12345"}, "ki67_percent"),
    ("followup", {"vital_status": 3}, "vital_status"),
    ("followup", {"visit_date": [2025, 1, 1]}, "visit_date"),
    ("response", {"reason": "x" * 501}, "reason"),
]


@pytest.mark.parametrize(("code", "body", "field"), BAD_INPUT, ids=[f"{c}-{f}" for c, _, f in BAD_INPUT])
def test_bad_input_is_400_naming_the_field(code, body, field, casebook, api_client, coordinator_a):
    form = casebook[code]
    before = state(form)
    response = api_client(coordinator_a).patch(form_url(casebook, code), body, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert state(form) == before


def test_another_patients_line_cannot_be_attached(casebook, api_client, coordinator_a, site_a):
    from tests.factories.crfs import complete_casebook

    other = complete_casebook(site=site_a, user=coordinator_a)
    response = api_client(coordinator_a).patch(form_url(casebook, "labs"), {"line": other["treatment"].pk},
                                               format="json", HTTP_IF_MATCH='"1"')
    assert (response.status_code, list(response.json()["errors"])) == (400, ["line"])


def test_malformed_bodies_are_400(casebook, api_client, coordinator_a):
    client, url = api_client(coordinator_a), form_url(casebook, "baseline")
    assert client.patch(url, "{not json", content_type="application/json", HTTP_IF_MATCH='"1"').status_code == 400
    listed = client.patch(url, [1, 2], format="json", HTTP_IF_MATCH='"1"')
    assert (listed.status_code, list(listed.json()["errors"])) == (400, ["non_field_errors"])
    header = client.patch(url, {}, format="json", HTTP_IF_MATCH='"1"', HTTP_X_CHANGE_REASON="y" * 501)
    assert (header.status_code, list(header.json()["errors"])) == (400, ["X-Change-Reason"])


def test_put_replaces_the_data_and_output_keys_round_trip(casebook, api_client, coordinator_a):
    client, url = api_client(coordinator_a), form_url(casebook, "tumour")
    current = client.get(url).json()
    response = client.put(url, {**current, "tnm_t": "T2"}, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 200, response.content
    assert (response.json()["tnm_t"], response.json()["primary_site"]) == ("T2", "pancreas")
    cleared = client.put(url, {"primary_site": "pancreas", "disease_extent_at_diagnosis": "metastatic",
                               "metastatic_sites": ["liver"]}, format="json", HTTP_IF_MATCH='"2"')
    assert cleared.status_code == 200, cleared.content
    assert (cleared.json()["tnm_t"], cleared.json()["resection_of_primary"]) == ("", None)


def test_findings_list_is_scoped(casebook, api_client, coordinator_a, coordinator_b, outsider, data_manager):
    EditCheckFinding.objects.create(patient=casebook["patient"], form="baseline", rule="EC99", severity="W",
                                    field="sex", message="test")
    for user, expected in ((coordinator_a, 1), (data_manager, 1), (coordinator_b, 0), (outsider, 0)):
        rows = api_client(user).get("/api/v1/findings/", {"rule": "EC99"}).json()["results"]
        assert len(rows) == expected
    bad = api_client(coordinator_a).get("/api/v1/findings/", {"severity": "Z"})
    assert (bad.status_code, list(bad.json()["errors"])) == (400, ["severity"])


def test_regimens_for_role_holders(api_client, coordinator_a, coordinator_b, outsider):
    codes = [r["code"] for r in api_client(coordinator_a).get("/api/v1/regimens/").json()]
    assert "carbo_etop" in codes
    carbo = next(r for r in api_client(coordinator_b).get("/api/v1/regimens/").json() if r["code"] == "carbo_etop")
    assert {d["code"] for d in carbo["drugs"]} >= {"carboplatin", "etoposide"}
    assert api_client(outsider).get("/api/v1/regimens/").json() == []
    assert api_client(coordinator_a).get("/api/v1/regimens/", {"include_inactive": "perhaps"}).status_code == 400
