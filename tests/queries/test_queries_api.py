"""The data-quality API: every endpoint for three personas (member, member of another site, outsider),
transitions, SDV, locks, signatures, dashboard, and pinned query counts on lists."""

import pytest

from registry.crfs.models import FormStatus, TreatmentLine
from registry.queries.models import CasebookSignature, DataQuery, FieldVerification, QueryStatus
from registry.queries.services import queries_reconcile_patient
from tests.factories.crfs import complete_casebook
from tests.factories.queries import age_query, casebook_with_warning, manual_query, submit_all
from tests.factories.sites import PASSWORD

pytestmark = pytest.mark.django_db
BASE = "/api/v1/queries/"


@pytest.fixture
def casebook(site_a, coordinator_a):
    return submit_all(complete_casebook(site=site_a, user=coordinator_a), coordinator_a)


@pytest.fixture
def query(casebook, monitor_a):
    return manual_query(casebook["pathology"], user=monitor_a, field="ki67_percent", text="Check Ki-67")


def test_list_and_detail_three_personas(api_client, query, coordinator_a, coordinator_b, outsider):
    member = api_client(coordinator_a)
    body = member.get(BASE).json()
    assert body["count"] == 1 and body["results"][0]["id"] == query.pk
    assert body["results"][0]["study_id"] == query.patient.study_id
    detail = member.get(f"{BASE}{query.pk}/").json()
    assert detail["messages"][0]["kind"] == "question" and detail["field"] == "ki67_percent"
    assert api_client(coordinator_b).get(BASE).json()["count"] == 0
    assert api_client(coordinator_b).get(f"{BASE}{query.pk}/").status_code == 404
    assert api_client(outsider).get(BASE).json()["count"] == 0
    assert api_client(outsider).get(f"{BASE}{query.pk}/").status_code == 404
    assert api_client().get(BASE).status_code == 401


def test_create_and_transitions(api_client, casebook, monitor_a, coordinator_a, coordinator_b, outsider):
    line = casebook["treatment"]
    payload = {"patient": casebook["patient"].pk, "form_family": "treatment", "object_id": line.pk,
               "field": "n_cycles", "text": "4 cycles? The chart lists 6."}
    assert api_client(coordinator_a).post(BASE, payload, format="json").status_code == 403
    assert api_client(coordinator_b).post(BASE, payload, format="json").status_code == 404
    assert api_client(outsider).post(BASE, payload, format="json").status_code == 404
    created = api_client(monitor_a).post(BASE, payload, format="json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert api_client(coordinator_b).post(f"{BASE}{pk}/answer/", {"text": "x", "reason": "corrected"},
                                          format="json").status_code == 404
    assert api_client(monitor_a).post(f"{BASE}{pk}/answer/", {"text": "x", "reason": "corrected"},
                                      format="json").status_code == 403
    bad = api_client(coordinator_a).post(f"{BASE}{pk}/answer/", {"text": "x", "reason": "nope"}, format="json")
    assert bad.status_code == 400
    answered = api_client(coordinator_a).post(f"{BASE}{pk}/answer/", {
        "text": "6 cycles given", "reason": "corrected", "value": 6, "expected_version": line.version},
        format="json")
    assert answered.status_code == 200, answered.json()
    assert answered.json()["status"] == "answered"
    assert TreatmentLine.objects.get(pk=line.pk).n_cycles == 6
    assert api_client(coordinator_a).post(f"{BASE}{pk}/close/", {}, format="json").status_code == 403
    reopened = api_client(monitor_a).post(f"{BASE}{pk}/reopen/", {"text": "And the dose?"}, format="json")
    assert reopened.json()["status"] == "open"
    comment = api_client(coordinator_a).post(f"{BASE}{pk}/messages/", {"text": "Dose per chart"}, format="json")
    assert comment.status_code == 201
    closed = api_client(monitor_a).post(f"{BASE}{pk}/close/", {"text": "Resolved"}, format="json")
    assert closed.json()["status"] == "closed"
    assert api_client(monitor_a).post(f"{BASE}{pk}/close/", {}, format="json").status_code == 409
    kinds = [m["kind"] for m in api_client(monitor_a).get(f"{BASE}{pk}/messages/").json()]
    assert kinds == ["question", "answer", "reopen", "comment", "close"]


def test_stale_version_on_correction_is_412(api_client, query, coordinator_a):
    response = api_client(coordinator_a).post(f"{BASE}{query.pk}/answer/", {
        "text": "fix", "reason": "corrected", "value": 75, "expected_version": 99}, format="json")
    assert response.status_code == 412
    assert DataQuery.objects.get(pk=query.pk).status == QueryStatus.OPEN


def test_locked_form_refuses_correction_through_the_api(api_client, query, casebook, coordinator_a, data_manager):
    assert api_client(data_manager).post(f"{BASE}patients/{casebook['patient'].pk}/lock/",
                                         {"reason": "cut-off"}, format="json").status_code == 201
    form = casebook["pathology"]
    form.refresh_from_db()
    response = api_client(coordinator_a).post(f"{BASE}{query.pk}/answer/", {
        "text": "fix", "reason": "corrected", "value": 75, "expected_version": form.version}, format="json")
    assert response.status_code == 409 and response.json()["rule"] == "locked"


def test_filters(api_client, casebook, monitor_a, site_a, coordinator_a):
    manual_query(casebook["pathology"], user=monitor_a, field="ki67_percent")
    auto = casebook_with_warning(site_a, coordinator_a)
    queries_reconcile_patient(auto["patient"])
    client = api_client(monitor_a)
    assert client.get(BASE, {"origin": "auto"}).json()["count"] >= 1
    assert client.get(BASE, {"origin": "manual"}).json()["count"] == 1
    assert client.get(BASE, {"rule": "EC17", "patient": auto["patient"].pk}).json()["count"] == 1
    assert client.get(BASE, {"site": "AUH"}).json()["count"] == 0
    assert client.get(BASE, {"patient": "x"}).status_code == 400


def test_list_query_count_is_pinned(api_client, casebook, monitor_a, django_assert_num_queries):
    for field in ("ki67_percent", "specimen_date", "cell_type"):
        manual_query(casebook["pathology"], user=monitor_a, field=field)
    client = api_client(monitor_a)
    # token auth (1) + count (1) + page with patient, site and users joined (1); scoping is an EXISTS.
    with django_assert_num_queries(3):
        assert client.get(BASE).json()["count"] == 3
    for field in ("weight_kg", "height_cm"):
        manual_query(casebook["baseline"], user=monitor_a, field=field)
    with django_assert_num_queries(3):
        assert client.get(BASE).json()["count"] == 5


def test_detail_query_count_is_pinned(api_client, query, coordinator_a, monitor_a, django_assert_num_queries):
    from registry.queries.services import query_answer, query_reopen

    query_answer(query, user=coordinator_a, text="a", reason="confirmed_as_is")
    query_reopen(query, user=monitor_a, text="b")
    client = api_client(monitor_a)
    # token (1) + query with joins (1) + messages with authors (1)
    with django_assert_num_queries(3):
        assert len(client.get(f"{BASE}{query.pk}/").json()["messages"]) == 3


def test_sdv_endpoints(api_client, casebook, monitor_a, coordinator_a, coordinator_b, outsider,
                       django_assert_num_queries):
    line = casebook["treatment"]
    payload = {"form_family": "treatment", "object_id": line.pk, "fields": ["n_cycles", "start_date"]}
    assert api_client(coordinator_a).post(f"{BASE}sdv/", payload, format="json").status_code == 403
    assert api_client(coordinator_b).post(f"{BASE}sdv/", payload, format="json").status_code == 404
    assert api_client(outsider).post(f"{BASE}sdv/", payload, format="json").status_code == 404
    created = api_client(monitor_a).post(f"{BASE}sdv/", payload, format="json")
    assert created.status_code == 201 and len(created.json()) == 2
    reader = api_client(coordinator_a)
    with django_assert_num_queries(3):
        assert reader.get(f"{BASE}sdv/", {"object_id": line.pk}).json()["count"] == 2
    assert api_client(coordinator_b).get(f"{BASE}sdv/").json()["count"] == 0
    assert api_client(outsider).get(f"{BASE}sdv/").json()["count"] == 0
    pk = FieldVerification.objects.get(field="n_cycles").pk
    withdrawn = api_client(monitor_a).post(f"{BASE}sdv/{pk}/withdraw/", {"reason": "wrong row"}, format="json")
    assert withdrawn.json()["is_current"] is False
    assert api_client(coordinator_b).post(f"{BASE}sdv/{pk}/withdraw/", {"reason": "x"},
                                          format="json").status_code == 404
    whole = api_client(monitor_a).post(f"{BASE}sdv/forms/", {"form_family": "treatment", "object_id": line.pk},
                                       format="json")
    assert whole.json()["status"] == FormStatus.VERIFIED


def test_lock_and_freeze_endpoints(api_client, casebook, site_a, site_b, data_manager, monitor_a, coordinator_b,
                                   outsider, django_assert_num_queries):
    patient = casebook["patient"]
    assert api_client(monitor_a).post(f"{BASE}patients/{patient.pk}/lock/", {"reason": "x"},
                                      format="json").status_code == 403
    assert api_client(coordinator_b).post(f"{BASE}patients/{patient.pk}/lock/", {"reason": "x"},
                                          format="json").status_code == 404
    assert api_client(outsider).post(f"{BASE}sites/{site_a.pk}/freeze/", {"reason": "x"},
                                     format="json").status_code == 404
    frozen = api_client(data_manager).post(f"{BASE}sites/{site_a.pk}/freeze/", {"reason": "cut-off"}, format="json")
    assert frozen.status_code == 201 and frozen.json()["forms_locked"] == 9
    assert api_client(data_manager).post(f"{BASE}sites/{site_a.pk}/freeze/", {"reason": "again"},
                                         format="json").status_code == 409
    assert api_client(data_manager).post(f"{BASE}sites/{site_a.pk}/unfreeze/", {},
                                         format="json").status_code == 400
    assert api_client(data_manager).post(f"{BASE}sites/{site_a.pk}/unfreeze/", {"reason": "lifted"},
                                         format="json").json() == {"forms_unlocked": 9}
    dm = api_client(data_manager)
    with django_assert_num_queries(3):
        assert dm.get(f"{BASE}freezes/").json()["count"] == 1
    assert api_client(monitor_a).get(f"{BASE}freezes/").json()["count"] == 1
    assert api_client(coordinator_b).get(f"{BASE}freezes/").json()["count"] == 0
    assert api_client(outsider).get(f"{BASE}freezes/").json()["count"] == 0


def test_signature_endpoints(api_client, casebook, investigator_a, coordinator_a, coordinator_b, outsider,
                             django_assert_num_queries):
    patient = casebook["patient"]
    wrong = api_client(investigator_a).post(f"{BASE}signatures/", {"patient": patient.pk, "password": "wrong"},
                                            format="json")
    assert wrong.status_code == 403 and wrong.json()["rule"] == "password"
    assert api_client(coordinator_a).post(f"{BASE}signatures/", {"patient": patient.pk, "password": PASSWORD},
                                          format="json").status_code == 403
    assert api_client(coordinator_b).post(f"{BASE}signatures/", {"patient": patient.pk, "password": PASSWORD},
                                          format="json").status_code == 404
    signed = api_client(investigator_a).post(f"{BASE}signatures/", {"patient": patient.pk, "password": PASSWORD},
                                             format="json")
    assert signed.status_code == 201 and signed.json()["is_valid"] is True
    assert "password" not in signed.json()
    reader = api_client(coordinator_a)
    with django_assert_num_queries(3):
        assert reader.get(f"{BASE}signatures/", {"patient": patient.pk}).json()["count"] == 1
    assert api_client(coordinator_b).get(f"{BASE}signatures/").json()["count"] == 0
    assert api_client(outsider).get(f"{BASE}signatures/").json()["count"] == 0
    assert CasebookSignature.objects.count() == 1


def test_dashboard_and_worklist(api_client, casebook, query, monitor_a, coordinator_a, coordinator_b, data_manager,
                                outsider, django_assert_num_queries):
    age_query(query, 40)
    rows = api_client(monitor_a).get(f"{BASE}dashboard/").json()
    assert {r["site"] for r in rows} == {"OUS"}
    pathology = next(r for r in rows if r["form_family"] == "pathology")
    assert pathology["open_queries"] == 1 and pathology["age_buckets"]["31-90"] == 1
    assert api_client(coordinator_a).get(f"{BASE}dashboard/").status_code == 403
    assert api_client(outsider).get(f"{BASE}dashboard/").status_code == 403
    dm = api_client(data_manager)
    # token (1) + sites (1) + one per form family (10) + verifications (1) + queries (1) + role check (1)
    with django_assert_num_queries(15):
        dm.get(f"{BASE}dashboard/")
    work = api_client(coordinator_a).get(f"{BASE}worklist/").json()
    assert [q["id"] for q in work["open_queries"]] == [query.pk] and work["to_verify"] == []
    to_verify = api_client(monitor_a).get(f"{BASE}worklist/").json()["to_verify"]
    assert len(to_verify) == 9 and to_verify[0]["site_code"] == "OUS"
    other = api_client(coordinator_b).get(f"{BASE}worklist/").json()
    assert other == {"open_queries": [], "to_verify": []}
    assert api_client(outsider).get(f"{BASE}worklist/").json() == {"open_queries": [], "to_verify": []}


def test_openapi_schema_lists_the_endpoints(client):
    schema = client.get("/api/schema/").content.decode()
    for path in ("/api/v1/queries/{id}/answer/", "/api/v1/queries/sdv/", "/api/v1/queries/signatures/",
                 "/api/v1/queries/dashboard/"):
        assert path in schema
