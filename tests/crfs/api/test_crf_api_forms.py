"""Every form family's endpoints: three personas on each, the workflow through the API, and 403 for members
whose role does not allow the action (the object stays unchanged)."""

import pytest

from registry.crfs.catalogue import BY_CODE
from registry.crfs.models import FormStatus
from tests.crfs.api.conftest import (
    ALL,
    PATCH_DATA,
    REPEATING,
    SINGLE,
    collection_url,
    create_data,
    form_url,
    if_match,
    state,
)

pytestmark = pytest.mark.django_db


def operations(forms: dict, code: str) -> list[tuple[str, str, dict]]:
    """(method, url, body) of every endpoint of a family, with valid bodies."""
    ops = [("get", collection_url(forms, code), {}), ("post", collection_url(forms, code), create_data(code))]
    if BY_CODE[code].repeating:
        ops += [("get", form_url(forms, code), {}), ("delete", form_url(forms, code), {})]
    ops += [("put", form_url(forms, code), create_data(code)), ("patch", form_url(forms, code), PATCH_DATA[code])]
    ops += [("post", form_url(forms, code, action), {"reason": "Checked"})
            for action in ("submit", "verify", "lock", "unlock")]
    return ops


def call(client, method, url, body, headers=None):
    kwargs = {"format": "json"} if method != "get" else {}
    return getattr(client, method)(url, body or None, **kwargs, **(headers or {}))


@pytest.mark.parametrize("code", ALL)
def test_three_personas_on_every_endpoint(code, casebook, api_client, coordinator_a, monitor_a, data_manager,
                                          coordinator_b, outsider, statistician, pathologist):
    """Members read (writes are covered below); another site's member, an outsider, roles that do not read
    case books and anonymous callers get 404/401 on every endpoint of the family, and nothing changes."""
    form = casebook[code]
    model = type(form)
    for user in (coordinator_a, monitor_a, data_manager):
        response = api_client(user).get(form_url(casebook, code))
        assert response.status_code == 200
        body = response.json()
        assert (body["id"], body["status"], body["version"]) == (form.pk, "draft", 1)
        assert response["ETag"] == '"1"'
        assert isinstance(body["findings"], list)
        if BY_CODE[code].repeating:
            listed = api_client(user).get(collection_url(casebook, code)).json()
            assert [row["id"] for row in listed["results"]] == [form.pk]

    before, count = state(form), model.objects.count()
    for user in (coordinator_b, outsider, statistician, pathologist):
        client = api_client(user)
        for method, url, body in operations(casebook, code):
            response = call(client, method, url, body, if_match(form))
            assert response.status_code == 404, (user.username, method, url, response.content)
            assert response.json()["code"] == "not_found"
    for method, url, body in operations(casebook, code):
        assert call(api_client(), method, url, body, if_match(form)).status_code == 401
    assert state(form) == before
    assert model.objects.count() == count


@pytest.mark.parametrize("code", ALL)
def test_workflow_through_the_api(code, casebook, api_client, coordinator_a, monitor_a, data_manager):
    entry, monitor, manager = api_client(coordinator_a), api_client(monitor_a), api_client(data_manager)
    url = form_url(casebook, code)

    response = entry.patch(url, PATCH_DATA[code], format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 200, response.content
    assert (response.json()["version"], response["ETag"]) == (2, '"2"')

    def act(client, action, version, **body):
        return client.post(form_url(casebook, code, action), body, format="json", HTTP_IF_MATCH=f'"{version}"')

    assert act(entry, "submit", 2).json()["status"] == FormStatus.SUBMITTED
    assert act(monitor, "verify", 3).json()["status"] == FormStatus.VERIFIED
    assert act(manager, "lock", 4).json()["status"] == FormStatus.LOCKED
    locked = entry.patch(url, PATCH_DATA[code], format="json", HTTP_IF_MATCH='"5"', HTTP_X_CHANGE_REASON="x")
    assert (locked.status_code, locked.json()["rule"]) == (409, "locked")
    no_reason = act(manager, "unlock", 5)
    assert (no_reason.status_code, no_reason.json()["errors"].keys()) == (400, {"reason"})
    unlocked = act(manager, "unlock", 5, reason="Query on source document")
    assert (unlocked.status_code, unlocked.json()["status"]) == (200, FormStatus.VERIFIED)
    edited = entry.patch(url, PATCH_DATA[code], format="json", HTTP_IF_MATCH='"6"',
                         HTTP_X_CHANGE_REASON="Transcription error")
    assert (edited.status_code, edited.json()["status"], edited.json()["verified_by"]) == (
        200, FormStatus.SUBMITTED, None)
    assert act(entry, "submit", 7).status_code == 409


@pytest.mark.parametrize("code", ALL)
def test_member_without_the_role_gets_403_and_changes_nothing(
        code, casebook, api_client, coordinator_a, monitor_a, data_manager):
    form = casebook[code]
    before = state(form)
    refused = [
        (monitor_a, "post", collection_url(casebook, code), create_data(code)),
        (monitor_a, "patch", form_url(casebook, code), PATCH_DATA[code]),
        (monitor_a, "put", form_url(casebook, code), create_data(code)),
        (data_manager, "patch", form_url(casebook, code), PATCH_DATA[code]),
        (monitor_a, "post", form_url(casebook, code, "submit"), {}),
        (coordinator_a, "post", form_url(casebook, code, "verify"), {}),
        (data_manager, "post", form_url(casebook, code, "verify"), {}),
        (monitor_a, "post", form_url(casebook, code, "lock"), {}),
        (coordinator_a, "post", form_url(casebook, code, "lock"), {}),
        (coordinator_a, "post", form_url(casebook, code, "unlock"), {"reason": "x"}),
    ]
    if BY_CODE[code].repeating:
        refused.append((monitor_a, "delete", form_url(casebook, code), {}))
    for user, method, url, body in refused:
        # Valid body and version, or none at all: the role is refused before either is looked at.
        for headers in (if_match(form), {}):
            response = call(api_client(user), method, url, body, headers)
            assert response.status_code == 403, (user.username, method, url, response.content)
            assert response.json()["rule"] == "role"
    assert state(form) == before


@pytest.mark.parametrize("code", REPEATING)
def test_create_list_and_delete_a_repeating_form(code, casebook, api_client, coordinator_a):
    client = api_client(coordinator_a)
    created = client.post(collection_url(casebook, code), create_data(code), format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["status"], body["version"], created["ETag"]) == ("draft", 1, '"1"')
    listed = client.get(collection_url(casebook, code)).json()
    assert body["id"] in [row["id"] for row in listed["results"]]
    url = collection_url(casebook, code) + f"{body['id']}/"
    assert client.delete(url).status_code == 428
    assert client.delete(url, HTTP_IF_MATCH='"1"').status_code == 204
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("code", SINGLE)
def test_one_per_patient_form_is_created_once(code, casebook, api_client, coordinator_a, site_a):
    client = api_client(coordinator_a)
    again = client.post(collection_url(casebook, code), create_data(code), format="json")
    assert (again.status_code, again.json()["rule"]) == (409, "one_per_patient")
    assert client.delete(form_url(casebook, code), HTTP_IF_MATCH='"1"').status_code == 405
    if code == "enrolment":
        return
    fresh = client.post("/api/v1/patients/", create_data("enrolment"), format="json").json()
    url = f"/api/v1/patients/{fresh['id']}/{code}/"
    assert client.get(url).status_code == 404
    created = client.post(url, create_data(code), format="json")
    assert created.status_code == 201, created.content
    assert client.get(url).json()["id"] == created.json()["id"]


def test_response_evaluations_nest_under_their_own_patients_line(casebook, api_client, coordinator_a, site_a):
    from tests.factories.crfs import complete_casebook

    client = api_client(coordinator_a)
    other = complete_casebook(site=site_a, user=coordinator_a)
    patient, line = casebook["patient"], casebook["treatment"]
    foreign = f"/api/v1/patients/{patient.pk}/treatment/{other['treatment'].pk}/response/"
    assert client.get(foreign).status_code == 404
    assert client.post(foreign, create_data("response"), format="json").status_code == 404
    mixed = f"/api/v1/patients/{patient.pk}/treatment/{line.pk}/response/{other['response'].pk}/"
    assert client.get(mixed).status_code == 404
    created = client.post(collection_url(casebook, "response"), create_data("response"), format="json")
    assert created.status_code == 201
    assert created.json()["line"] == line.pk
    assert other["treatment"].evaluations.count() == 1
