"""The CRF API's OpenAPI schema: generated without warnings, documenting the locking contract on every write,
and a short in-process schemathesis run over every patients/CRF operation as a site user: never a 5xx.

The schema is generated from this app's URLs alone (no database needed at import), so a warning elsewhere in
the project does not hide or cause one here; the whole-project schema is covered by `check --deploy`.
"""

import collections
import itertools
import json
import re

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, Phase, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from registry.crfs.catalogue import FAMILIES

WRITES = ("put", "patch", "delete")
_FAMILIES = {f.code for f in FAMILIES}


def crf_api_schema() -> dict:
    GENERATOR_STATS.reset()
    generator = SchemaGenerator(patterns=[path("api/v1/", include("registry.crfs.api.urls"))])
    return json.loads(OpenApiJsonRenderer().render(generator.get_schema(request=None, public=True)))


SCHEMA = crf_api_schema()
WARNINGS = dict(GENERATOR_STATS._warn_cache), dict(GENERATOR_STATS._error_cache)


def test_schema_generates_without_warnings():
    assert WARNINGS == ({}, {})
    assert len(SCHEMA["paths"]) == 61


def test_the_full_schema_is_served(client, coordinator_a):
    client.force_login(coordinator_a)
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert "/api/v1/patients/{patient_id}/treatment/{line_id}/response/{id}/" in response.json()["paths"]
    assert client.get("/api/docs/").status_code == 200


def operations():
    for url, item in SCHEMA["paths"].items():
        for method, operation in item.items():
            yield url, method, operation


def test_every_write_requires_if_match_and_documents_412_and_428():
    writes = 0
    for url, method, operation in operations():
        is_action = url.endswith(("/submit/", "/verify/", "/lock/", "/unlock/"))
        headers = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "header"}
        if method in WRITES or is_action:
            writes += 1
            assert headers["If-Match"]["required"] is True, (method, url)
            assert "X-Change-Reason" in headers, (method, url)
            assert {"400", "403", "404", "409", "412", "428"} <= set(operation["responses"]), (method, url)
            error = operation["responses"]["412"]["content"]["application/json"]["schema"]["$ref"]
            assert error == "#/components/schemas/ApiError"
        elif method == "get":
            assert "404" in operation["responses"] or url in ("/api/v1/patients/", "/api/v1/regimens/",
                                                              "/api/v1/findings/")
    assert writes == 6 * 7 + 4 * 6  # repeating: put/patch/delete + 4 actions; one-per-patient: put/patch + 4
    get_form = SCHEMA["paths"]["/api/v1/patients/{patient_id}/baseline/"]["get"]
    assert "ETag" in get_form["responses"]["200"]["headers"]


def test_code_lists_are_shared_components():
    components = SCHEMA["components"]["schemas"]
    assert components["IhcResultChoices"]["enum"] == ["positive", "negative", "not_done"]
    pathology = components["LocalPathologyOutput"]["properties"]
    for field in ("chromogranin_a_ihc", "synaptophysin_ihc", "sstr2_ihc"):
        assert pathology[field]["allOf"] == [{"$ref": "#/components/schemas/IhcResultChoices"}]


# --- schemathesis --------------------------------------------------------------------------------------

fuzz_schema = schemathesis.openapi.from_dict(SCHEMA)
fuzz_schema.app = get_wsgi_application()


@pytest.fixture
def world(casebook, coordinator_a):
    """A site user with a complete case book; path ids point at real rows so the bodies reach the services.
    Django's test client unhooks close_old_connections the same way (research/reliability.md §5.3)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    token, _ = Token.objects.get_or_create(user=coordinator_a)
    yield {"forms": casebook, "headers": {"Authorization": f"Token {token.key}"}}
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _point_at_real_rows(case, forms):
    url = case.operation.path
    codes = [segment for segment in url.split("/") if segment in _FAMILIES]
    params = case.path_parameters or {}
    if "patient_id" in params or re.match(r"^/api/v1/patients/\{id\}/", url):
        params["patient_id" if "patient_id" in params else "id"] = forms["patient"].pk
    if "line_id" in params:
        params["line_id"] = forms["treatment"].pk
    if codes and "id" in params:
        params["id"] = forms[codes[-1]].pk
    if codes and case.headers and "If-Match" in case.headers:
        form = forms[codes[-1]]
        current = type(form).objects.filter(pk=form.pk).values_list("version", flat=True).first()
        case.headers["If-Match"] = f'"{current or 1}"'


@pytest.mark.django_db
def test_no_server_errors_on_any_operation(world):
    """A few generated requests per operation, all against one case book (deletes run last so the other
    operations find their rows). Any 5xx fails with the operation and the reproducing request."""
    operations = [result.ok() for result in fuzz_schema.get_all_operations()]
    operations.sort(key=lambda operation: (operation.method.lower() == "delete", operation.path))
    assert len(operations) == 98
    outcomes = collections.Counter()
    for operation, mode in itertools.product(operations, GenerationMode):
        @given(case=operation.as_strategy(mode))
        @settings(max_examples=3, deadline=None, phases=[Phase.explicit, Phase.generate], derandomize=True,
                  database=None, suppress_health_check=list(HealthCheck))
        def call(case):
            _point_at_real_rows(case, world["forms"])
            response = case.call_and_validate(headers=world["headers"], checks=[not_a_server_error])
            outcomes[case.method.upper(), response.status_code // 100 * 100] += 1

        call()
    # The generated bodies reach the services (accepted writes), not only the parsers.
    assert outcomes["PATCH", 200] and outcomes["PUT", 200] and outcomes["POST", 200], outcomes


def test_options_requests_describe_without_errors(casebook, api_client, coordinator_a, coordinator_b):
    """OPTIONS runs DRF's metadata, which looks the object up: a 500 here was the fuzzer's first finding."""
    urls = {url.replace("{patient_id}", str(casebook["patient"].pk)).replace("{line_id}", str(casebook["treatment"].pk))
            for url in SCHEMA["paths"]}
    for url in sorted(urls):
        codes = [segment for segment in url.split("/") if segment in _FAMILIES]
        url = url.replace("{id}", str(casebook[codes[-1]].pk if codes else casebook["patient"].pk))
        assert api_client(coordinator_a).options(url).status_code == 200, url
        assert api_client(coordinator_b).options(url).status_code in (200, 404), url
