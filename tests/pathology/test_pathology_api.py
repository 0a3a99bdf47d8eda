"""API and pages: three personas (member, member of another site, outsider) on every endpoint, pinned query
counts on the queue (API and page) and the case detail, shipments, material outstanding, notices, agreement."""

from decimal import Decimal

import pytest
from django.test import TestCase
from django.urls import reverse

from registry.pathology import services
from registry.pathology.models import Notification, ReviewCase, Shipment
from tests.factories.crfs import days_ago
from tests.factories.pathology import claim_and_read, ready_case, submitted_specimen

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(site_a, pathologist):
    return ready_case(site=site_a, receiver=pathologist)


def test_queue_personas(case, pathologist, data_manager, coordinator_a, coordinator_b, outsider, api_client):
    url = reverse("api-pathology-case-list")
    for user, expected in ((pathologist, [case.pk]), (data_manager, [case.pk]), (coordinator_a, []),
                           (coordinator_b, []), (outsider, [])):
        response = api_client(user).get(url)
        assert response.status_code == 200
        assert [row["id"] for row in response.json()["results"]] == expected, user
    assert api_client().get(url).status_code == 401
    detail = reverse("api-pathology-case-detail", args=[case.pk])
    assert api_client(pathologist).get(detail).status_code == 200
    for user in (coordinator_a, coordinator_b, outsider):
        assert api_client(user).get(detail).status_code == 404
        assert api_client(user).get(reverse("api-pathology-case-history", args=[case.pk])).status_code == 404
        assert api_client(user).post(reverse("api-pathology-case-claim", args=[case.pk])).status_code == 404


def test_claim_assign_priority_via_api(case, pathologist, pathologist_2, data_manager, api_client):
    client = api_client(data_manager)
    response = client.post(reverse("api-pathology-case-priority", args=[case.pk]), {"priority": 2}, format="json")
    assert response.status_code == 200 and response.json()["priority"] == 2
    response = client.post(reverse("api-pathology-case-assign", args=[case.pk]), {"reviewer": pathologist_2.pk},
                           format="json")
    assert response.status_code == 200 and response.json()["assigned_to"] == "patho2"
    response = api_client(pathologist).post(reverse("api-pathology-case-claim", args=[case.pk]))
    assert response.status_code == 409
    response = api_client(pathologist_2).post(reverse("api-pathology-case-release", args=[case.pk]))
    assert response.status_code == 200 and response.json()["status"] == "ready"
    response = api_client(pathologist).post(reverse("api-pathology-case-claim-next"))
    assert response.status_code == 200 and response.json()["id"] == case.pk
    assert api_client(pathologist_2).post(reverse("api-pathology-case-claim-next")).status_code == 204
    assert api_client(data_manager).post(reverse("api-pathology-case-claim-next")).status_code == 403


def test_queue_filters(site_a, pathologist, api_client):
    mine = ready_case(site=site_a, receiver=pathologist)
    other = ready_case(site=site_a, receiver=pathologist)
    services.case_claim(case=mine, user=pathologist)
    ReviewCase.objects.filter(pk=other.pk).update(opened_at=other.opened_at - __import__("datetime").timedelta(
        days=90), material_received_at=other.opened_at - __import__("datetime").timedelta(days=60))
    client = api_client(pathologist)
    url = reverse("api-pathology-case-list")

    def ids(**params):
        return [row["id"] for row in client.get(url, params).json()["results"]]

    assert ids(assigned="me") == [mine.pk]
    assert ids(assigned="unassigned") == [other.pk]
    assert ids(status="in_review") == [mine.pk]
    assert ids(min_age_days=30) == [other.pk]
    assert ids(overdue="true") == [other.pk]
    assert ids(site="ous", ordering="-opened") == [mine.pk, other.pk]
    assert ids(site="AUH") == []
    row = client.get(url, {"overdue": "true"}).json()["results"][0]
    assert row["overdue"] is True and row["turnaround_days"] == 60


def queue_setup(site_a, pathologist, n):
    cases = [ready_case(site=site_a, receiver=pathologist) for _ in range(n)]
    claim_and_read(cases[0], pathologist, ki67_central_percent=Decimal("50.0"))  # one final, one in progress
    services.case_claim(case=cases[1], user=pathologist)
    return cases


QUEUE_API_QUERIES = 3  # auth token, count, page (final classification, assignee and patient joined)
QUEUE_PAGE_QUERIES = 7  # session, user, memberships for the menu, roles, count, page, roles (view)
#: token, case, roles; shipments, items, tumour, baseline, reads; + the adjudication look-up when final
DETAIL_API_QUERIES = {"final": 9, "in_review": 8}


@pytest.mark.parametrize("n", [3, 6])
def test_queue_api_query_count_is_constant(site_a, pathologist, api_client, django_assert_num_queries, n):
    queue_setup(site_a, pathologist, n)
    client = api_client(pathologist)
    client.get(reverse("api-pathology-case-list"))  # warm caches (content types)
    with django_assert_num_queries(QUEUE_API_QUERIES):
        response = client.get(reverse("api-pathology-case-list"))
    assert response.status_code == 200 and response.json()["count"] == n


@pytest.mark.parametrize("n", [3, 6])
def test_queue_page_query_count_is_constant(site_a, pathologist, client, django_assert_num_queries, n):
    queue_setup(site_a, pathologist, n)
    client.force_login(pathologist)
    client.get(reverse("pathology:queue"))
    with django_assert_num_queries(QUEUE_PAGE_QUERIES):
        response = client.get(reverse("pathology:queue"))
    assert response.status_code == 200 and response.content.decode().count("data-case=") == n


def test_case_detail_query_count(site_a, pathologist, api_client, django_assert_num_queries):
    cases = queue_setup(site_a, pathologist, 3)
    client = api_client(pathologist)
    for case in cases[:2]:
        case.refresh_from_db()
        client.get(reverse("api-pathology-case-detail", args=[case.pk]))
        with django_assert_num_queries(DETAIL_API_QUERIES[case.status]):
            assert client.get(reverse("api-pathology-case-detail", args=[case.pk])).status_code == 200


def test_shipment_api_personas(site_a, coordinator_a, coordinator_b, outsider, pathologist, api_client):
    specimen = submitted_specimen(site=site_a)
    payload = {"specimen": specimen.pk, "shipped_on": str(days_ago(2)), "courier_reference": "UPS-1",
               "items": [{"material": "HE", "quantity": 2}, {"material": "CgA"}, {"material": "synaptophysin"},
                         {"material": "Ki67"}, {"material": "block"}]}
    url = reverse("api-pathology-shipment-list")
    for user in (coordinator_b, outsider, pathologist):
        assert api_client(user).post(url, payload, format="json").status_code == 404
    response = api_client(coordinator_a).post(url, payload, format="json")
    assert response.status_code == 201, response.json()
    shipment_id = response.json()["id"]
    assert {i["material"]: i["quantity"] for i in response.json()["items"]}["HE"] == 2
    assert [s["id"] for s in api_client(coordinator_a).get(url).json()["results"]] == [shipment_id]
    assert api_client(coordinator_b).get(url).json()["results"] == []
    assert api_client(outsider).get(url).json()["results"] == []
    # Outstanding: the site sees the parcel in transit and nothing missing.
    outstanding = api_client(coordinator_a).get(reverse("api-pathology-outstanding")).json()
    assert outstanding[0]["missing"] == [] and outstanding[0]["in_transit"][0]["id"] == shipment_id
    assert api_client(coordinator_b).get(reverse("api-pathology-outstanding")).json() == []
    receive = reverse("api-pathology-shipment-receive", args=[shipment_id])
    assert api_client(coordinator_a).post(receive, {"received_on": str(days_ago(1))}).status_code == 403
    assert api_client(coordinator_b).post(receive, {"received_on": str(days_ago(1))}).status_code == 404
    response = api_client(pathologist).post(receive, {"received_on": str(days_ago(1))})
    assert response.status_code == 200 and response.json()["blocks_return_due"]
    assert ReviewCase.objects.get(patient=specimen.patient).status == "ready"
    outstanding = api_client(coordinator_a).get(reverse("api-pathology-outstanding")).json()
    assert outstanding[0]["blocks_out"][0]["id"] == shipment_id
    back = api_client(pathologist).post(reverse("api-pathology-shipment-return-blocks", args=[shipment_id]),
                                        {"returned_on": str(days_ago(0))})
    assert back.status_code == 200 and Shipment.objects.get(pk=shipment_id).blocks_returned_on == days_ago(0)


def test_notifications_personas(site_a, pathologist, coordinator_a, coordinator_b, outsider, api_client, client):
    case = ready_case(site=site_a, receiver=pathologist)
    with TestCase.captureOnCommitCallbacks(execute=True):
        claim_and_read(case, pathologist, ki67_central_percent=Decimal("40.0"))
    notice = Notification.objects.get(patient=case.patient)
    url = reverse("api-pathology-notification-list")
    assert [n["id"] for n in api_client(coordinator_a).get(url).json()["results"]] == [notice.pk]
    assert api_client(coordinator_b).get(url).json()["results"] == []
    assert api_client(outsider).get(url).json()["results"] == []
    read_url = reverse("api-pathology-notification-read", args=[notice.pk])
    assert api_client(coordinator_b).post(read_url).status_code == 404
    assert api_client(coordinator_a).post(read_url).json()["read_at"] is not None
    client.force_login(coordinator_a)
    html = client.get(reverse("pathology:notifications")).content.decode()
    assert "NEC, large cell" in html and case.patient.study_id in html
    client.force_login(coordinator_b)
    assert case.patient.study_id not in client.get(reverse("pathology:notifications")).content.decode()
    client.force_login(outsider)
    assert client.get(reverse("pathology:notifications")).status_code == 403


def test_agreement_endpoint_and_page(site_a, pathologist, data_manager, coordinator_a, outsider, api_client,
                                     client):
    for dx, ki67, central, shift in (("NEC_large_cell", "80.0", "NEC_large_cell", 3),
                                     ("NET_G3", "30.0", "NET_G3", 5), ("NEC_large_cell", "70.0", "NEC_nos", 7)):
        claim_and_read(ready_case(site=site_a, receiver=pathologist, diagnosis=dx, ki67=ki67), pathologist,
                       central_diagnosis=central, ki67_central_percent=Decimal(ki67) - shift)
    url = reverse("api-pathology-agreement")
    response = api_client(data_manager).get(url)
    assert response.status_code == 200
    body = response.json()
    assert body["category"]["kappa"]["n"] == 3 and body["category"]["kappa"]["percent_agreement"] == 100.0
    assert body["ki67"]["bland_altman"]["bias"] == pytest.approx(-5.0)
    assert body["ki67"]["icc"]["icc"] > 0.9
    for user in (coordinator_a, outsider, pathologist):
        assert api_client(user).get(url).status_code == 403
    client.force_login(data_manager)
    page = client.get(reverse("pathology:agreement"))
    assert page.status_code == 200 and "Cohen" in page.content.decode() and "ICC(A,1)" in page.content.decode()
    client.force_login(coordinator_a)
    assert client.get(reverse("pathology:agreement")).status_code == 403


def test_pages_personas(case, pathologist, coordinator_a, coordinator_b, outsider, client):
    for user, queue_status, case_status in ((pathologist, 200, 200), (coordinator_a, 403, 404),
                                            (coordinator_b, 403, 404), (outsider, 403, 404)):
        client.force_login(user)
        assert client.get(reverse("pathology:queue")).status_code == queue_status
        assert client.get(reverse("pathology:case", args=[case.pk])).status_code == case_status
        assert client.get(reverse("pathology:history", args=[case.pk])).status_code == case_status
    client.logout()
    assert client.get(reverse("pathology:queue")).status_code == 302


def test_material_page(site_a, pathologist, coordinator_a, coordinator_b, outsider, client):
    specimen = submitted_specimen(site=site_a)
    study_id = specimen.patient.study_id
    client.force_login(coordinator_a)
    html = client.get(reverse("pathology:material")).content.decode()
    assert study_id in html and "H&amp;E slide" in html  # still to send
    response = client.post(reverse("pathology:shipment_create", args=[specimen.pk]),
                           {"shipped_on": str(days_ago(1)), "courier_reference": "POST-9",
                            "materials": ["HE", "CgA", "synaptophysin", "Ki67"], "blocks": 1})
    assert response.status_code == 302
    shipment = Shipment.objects.get(specimen=specimen)
    assert shipment.items.count() == 5
    client.force_login(coordinator_b)
    assert study_id not in client.get(reverse("pathology:material")).content.decode()
    assert client.post(reverse("pathology:shipment_create", args=[specimen.pk]),
                       {"shipped_on": str(days_ago(1)), "materials": ["HE"]}).status_code == 404
    client.force_login(outsider)
    assert client.get(reverse("pathology:material")).status_code == 403
    client.force_login(pathologist)
    html = client.get(reverse("pathology:material")).content.decode()
    assert "POST-9" in html
    client.post(reverse("pathology:shipment_receive", args=[shipment.pk]), {"received_on": str(days_ago(0))})
    assert ReviewCase.objects.get(patient=specimen.patient).status == "ready"
