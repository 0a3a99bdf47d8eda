"""Blinding holds on every path a reviewer can reach before submitting — API detail, list, filters and
ordering, the reads list, the case history (API and page), the case page, the queue page and the admin — and
is lifted once the reviewer has submitted their own read."""

import json
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from registry.pathology import services
from registry.pathology.models import CaseStatus
from tests.factories.pathology import LOCAL_KI67, claim_and_read, read, ready_case

pytestmark = pytest.mark.django_db

LOCAL_DX = "NET_G3"
#: Field names that must never reach a blinded reviewer (the form's `blinded_to_local_diagnosis` is stripped
#: before looking, as it names the reviewer's own attestation, not the local value).
LOCAL_FIELD_NAMES = ("local_diagnosis", "local_ki67", "ki67_percent", "local_differentiation", "discordan")
FIRST_READ_KI67 = "81.7"
FIRST_READ_MARK = "FIRST-READ-MARKER"


def assert_blind(text: str, *, values=(str(LOCAL_KI67),), names=LOCAL_FIELD_NAMES):
    text = text.replace("blinded_to_local_diagnosis", "")
    for name in names:
        assert name not in text, f"{name!r} leaked"
    for value in values:
        assert value not in text, f"{value!r} leaked"


def assert_blind_html(html: str, **kwargs):
    assert_blind(html, **kwargs)
    for label in ("Local diagnosis", "Local Ki-67", "local-read", "Site&#x27;s read (local"):
        assert label not in html


@pytest.fixture
def claimed(site_a, pathologist):
    """A case claimed by the first reviewer (local NET G3, Ki-67 37.3 %)."""
    case = ready_case(site=site_a, receiver=pathologist, diagnosis=LOCAL_DX, ki67=LOCAL_KI67)
    return services.case_claim(case=case, user=pathologist)


@pytest.fixture
def second_read_pending(claimed, pathologist, pathologist_2):
    """First read NEC 81.7 % (discordant with local NET G3) submitted; claimed by the second reviewer."""
    services.review_submit(case=claimed, user=pathologist,
                           data=read(ki67_central_percent=Decimal(FIRST_READ_KI67), comment=FIRST_READ_MARK))
    claimed.refresh_from_db()
    assert claimed.status == CaseStatus.SECOND_REVIEW
    return services.case_claim(case=claimed, user=pathologist_2)


def api_texts(client, case):
    """Every API response a reviewer can fetch about the case."""
    urls = [reverse("api-pathology-case-detail", args=[case.pk]), reverse("api-pathology-case-list"),
            reverse("api-pathology-case-history", args=[case.pk]), reverse("api-pathology-review-list")]
    texts = []
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        texts.append(json.dumps(response.json()))
    return texts


def page_texts(client, case):
    urls = [reverse("pathology:case", args=[case.pk]), reverse("pathology:history", args=[case.pk]),
            reverse("pathology:queue")]
    texts = []
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        texts.append(response.content.decode())
    return texts


def test_api_blinded_before_first_read_and_lifted_after(claimed, pathologist, api_client):
    client = api_client(pathologist)
    for text in api_texts(client, claimed):
        assert_blind(text, values=(str(LOCAL_KI67), LOCAL_DX))
    detail = client.get(reverse("api-pathology-case-detail", args=[claimed.pk])).json()
    assert detail["blinded"] is True and "local" not in detail and "reviews" not in detail
    # The reviewer still sees the material, specimen and clinical context.
    assert detail["specimen"]["specimen_type"] == "core_biopsy"
    assert detail["clinical_context"] == {"primary_site": "Pancreas", "sex": "Male", "age_years": 64}
    assert set(detail["material_received"]) == {"HE", "CgA", "synaptophysin", "Ki67"}

    response = client.post(reverse("api-pathology-case-review", args=[claimed.pk]),
                           {**read(), "review_date": str(read()["review_date"])}, format="json")
    assert response.status_code == 201, response.content
    after = response.json()
    assert after["blinded"] is False
    assert after["local"] == {"local_diagnosis": LOCAL_DX, "local_ki67": str(LOCAL_KI67),
                              "local_differentiation": "well", "local_cell_type": ""}
    assert after["discordant_with_local"] is True and "NET G3 vs NEC" in after["discordance_reasons"]
    history = json.dumps(client.get(reverse("api-pathology-case-history", args=[claimed.pk])).json())
    assert "local_diagnosis" in history and str(LOCAL_KI67) in history


def test_pages_blinded_before_first_read_and_lifted_after(claimed, pathologist, client):
    client.force_login(pathologist)
    for html in page_texts(client, claimed):
        assert_blind_html(html)
    case_page = client.get(reverse("pathology:case", args=[claimed.pk])).content.decode()
    assert 'id="review-form"' in case_page and "Pancreas" in case_page and "blinding-note" in case_page
    claim_and_read_data = {k: v for k, v in read().items() if v not in ("", None)}
    claim_and_read_data["adequate_material"] = "true"
    response = client.post(reverse("pathology:review", args=[claimed.pk]), claim_and_read_data)
    assert response.status_code == 302, response.content.decode()[:3000]
    html = client.get(reverse("pathology:case", args=[claimed.pk])).content.decode()
    assert 'id="local-read"' in html and str(LOCAL_KI67) in html and "NET G3" in html
    history = client.get(reverse("pathology:history", args=[claimed.pk])).content.decode()
    assert "local_diagnosis" in history and str(LOCAL_KI67) in history


def test_second_reviewer_blind_to_local_and_first_read(second_read_pending, pathologist, pathologist_2,
                                                       api_client, client):
    hidden = (str(LOCAL_KI67), FIRST_READ_KI67, FIRST_READ_MARK)
    for text in api_texts(api_client(pathologist_2), second_read_pending):
        assert_blind(text, values=(*hidden, LOCAL_DX))
    client.force_login(pathologist_2)
    for html in page_texts(client, second_read_pending):
        assert_blind_html(html, values=hidden)
    # The first reviewer, having submitted, sees local and their own read, but the second read is pending.
    first_view = api_client(pathologist).get(reverse("api-pathology-case-detail", args=[second_read_pending.pk]))
    assert first_view.json()["local"]["local_ki67"] == str(LOCAL_KI67)
    assert [r["read_number"] for r in first_view.json()["reviews"]] == [1]
    # After the second read (disagreeing: NET G3) the case goes to adjudication and everything is open.
    services.review_submit(case=second_read_pending, user=pathologist_2,
                           data=read(central_diagnosis="NET_G3", ki67_central_percent=Decimal("30.0")))
    detail = api_client(pathologist_2).get(reverse("api-pathology-case-detail", args=[second_read_pending.pk]))
    assert detail.json()["status"] == "adjudication"
    text = json.dumps(detail.json())
    assert FIRST_READ_KI67 in text and str(LOCAL_KI67) in text


def test_filters_and_ordering_on_local_fields_are_ignored(site_a, pathologist, api_client):
    """No filter or ordering on local values: the parameters change nothing (no side channel)."""
    cases = [ready_case(site=site_a, receiver=pathologist, diagnosis=dx, ki67=k)
             for dx, k in (("NET_G3", "25.0"), ("NEC_large_cell", "90.0"), ("NEC_small_cell", "60.0"))]
    client = api_client(pathologist)
    url = reverse("api-pathology-case-list")
    baseline = [row["id"] for row in client.get(url).json()["results"]]
    assert sorted(baseline) == sorted(c.pk for c in cases)
    for params in ({"local_diagnosis": "NET_G3"}, {"specimen__local_diagnosis": "NET_G3"},
                   {"specimen__ki67_percent__gte": "50"}, {"ki67_percent": "25.0"}):
        response = client.get(url, params)
        assert response.status_code == 200
        assert [row["id"] for row in response.json()["results"]] == baseline, params
    # Ordering on a local field is refused outright, the same way whatever the data holds.
    for ordering in ("specimen__ki67_percent", "-specimen__local_diagnosis", "local_diagnosis", "-ki67_percent"):
        response = client.get(url, {"ordering": ordering})
        assert response.status_code == 400
        assert_blind(json.dumps(response.json()).replace(ordering, ""), values=("25.0", "90.0", "60.0"))
    # The same holds on the queue page.
    from django.test import Client

    web = Client()
    web.force_login(pathologist)
    plain = web.get(reverse("pathology:queue")).content.decode()
    order = re.findall(r'data-case="(\d+)"', plain)
    for params in ({"specimen__local_diagnosis": "NET_G3"}, {"ordering": "specimen__ki67_percent"}):
        html = web.get(reverse("pathology:queue"), params).content.decode()
        assert re.findall(r'data-case="(\d+)"', html) == order


def test_error_responses_do_not_echo_local_values(claimed, pathologist, api_client):
    client = api_client(pathologist)
    response = client.post(reverse("api-pathology-case-review", args=[claimed.pk]),
                           {"adequate_material": True, "local_diagnosis": "NEC_nos"}, format="json")
    assert response.status_code == 400
    assert_blind(json.dumps(response.json()), values=(str(LOCAL_KI67), LOCAL_DX))


def test_admin_is_closed_to_central_pathologists(claimed, pathologist, data_manager, client):
    pathologist.is_staff = True
    pathologist.save()
    client.force_login(pathologist)
    for name in ("reviewcase", "centralreview", "finalclassification", "shipment"):
        assert client.get(reverse(f"admin:pathology_{name}_changelist")).status_code == 403
    data_manager.is_staff = True
    data_manager.save()
    from django.contrib.auth.models import Permission

    data_manager.user_permissions.add(*Permission.objects.filter(content_type__app_label="pathology"))
    client.force_login(data_manager)
    response = client.get(reverse("admin:pathology_reviewcase_changelist"))
    assert response.status_code == 200 and claimed.patient.study_id in response.content.decode()


def test_concordant_read_reveals_local_after_submission(site_a, pathologist, api_client):
    case = ready_case(site=site_a, receiver=pathologist, diagnosis="NEC_large_cell", ki67="80.0")
    claim_and_read(case, pathologist)
    detail = api_client(pathologist).get(reverse("api-pathology-case-detail", args=[case.pk])).json()
    assert detail["local"]["local_diagnosis"] == "NEC_large_cell"
    assert detail["final"]["final_diagnosis"] == "NEC_large" and detail["final"]["analysis_group"] == "NEC"
