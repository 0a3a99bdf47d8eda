"""Every API 4xx body has the one ApiError shape (issue 8 item 3): serializer and filter errors included, so
clients read `detail` and `errors` the same way everywhere."""

from __future__ import annotations

import pytest

from registry.core.api import flatten_errors


def test_nested_serializer_errors_flatten_to_dotted_field_names():
    detail = {"patient": ["A valid integer is required."],
              "participants": [{}, {"user": ["Unknown.", "Inactive."]}],
              "non_field_errors": ["Dates disagree."]}
    assert flatten_errors(detail) == {"patient": ["A valid integer is required."],
                                      "participants.1.user": ["Unknown.", "Inactive."],
                                      "non_field_errors": ["Dates disagree."]}
    assert flatten_errors(["Whole body refused."]) == {"non_field_errors": ["Whole body refused."]}


@pytest.mark.django_db
def test_serializer_error_on_a_post_answers_with_detail_code_and_field_errors(api_client, coordinator_a):
    response = api_client(coordinator_a).post("/api/v1/queries/", {"patient": "x", "form_family": "nope"},
                                              format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_failed" and body["rule"] == "invalid"
    assert set(body["errors"]) == {"patient", "form_family", "text"}
    assert body["detail"] == f"{next(iter(body['errors']))}: {body['errors'][next(iter(body['errors']))][0]}"


@pytest.mark.django_db
def test_bad_filter_value_on_a_list_answers_with_the_same_shape(api_client, data_manager):
    response = api_client(data_manager).get("/api/v1/pathology/shipments/", {"received_on": "not-a-date"})
    assert response.status_code == 400
    assert response.json()["code"] == "validation_failed" and "received_on" in response.json()["errors"]
