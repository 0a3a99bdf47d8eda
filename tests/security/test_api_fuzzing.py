"""Whole-API fuzzing (issue 8 item 3): schemathesis over EVERY operation of the project's OpenAPI schema (the
one /api/schema/ serves), in-process through the WSGI app, authenticated by token as a site coordinator and
as a study-wide data manager, with path ids pointing at real rows so bodies reach the services. Checks: no
5xx, every status is documented for its operation, and every documented response body conforms to its schema.
Failures are collected across all operations and reported together (method, path, status, check).

Setup follows tests/crfs/api/test_crf_api_schema.py (schema built without a database; Django's
close_old_connections unhooked as the test client does; deletes last so other operations find their rows)."""

from __future__ import annotations

import collections
import json
import re

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from registry.crfs.catalogue import FAMILIES
from tests.security.world import site_objects

_FAMILIES = {f.code for f in FAMILIES}
EXAMPLES_PER_OPERATION = 3
CHECKS = (not_a_server_error, status_code_conformance, response_schema_conformance)


def project_schema() -> dict:
    GENERATOR_STATS.reset()
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(schema))


SCHEMA = project_schema()
WARNINGS = dict(GENERATOR_STATS._warn_cache), dict(GENERATOR_STATS._error_cache)
fuzz_schema = schemathesis.openapi.from_dict(SCHEMA)
fuzz_schema.app = get_wsgi_application()
OPERATIONS = sorted((result.ok() for result in fuzz_schema.get_all_operations()),
                    key=lambda op: (op.method.lower() == "delete", op.path, op.method))
TOTALS = collections.Counter()


def test_project_schema_generates_without_warnings_and_covers_every_api_view():
    assert WARNINGS == ({}, {})
    assert len(OPERATIONS) >= 150


def test_every_api_operation_documents_its_error_responses():
    """400 for input, 401/403, 404 where the path names an object, 409 on writes; 412 where If-Match is used."""
    missing = []
    for url, item in SCHEMA["paths"].items():
        for method, operation in item.items():
            codes = set(operation["responses"])
            wanted = {"401", "403"} | ({"404"} if "{" in url else set())
            if method in ("post", "put", "patch", "delete"):
                wanted |= {"400", "409"}
            if any(p["name"] == "If-Match" for p in operation.get("parameters", [])):
                wanted |= {"412", "428"}
            if wanted - codes:
                missing.append((method.upper(), url, sorted(wanted - codes)))
    assert missing == []


@pytest.fixture
def fuzz_world(site_a, coordinator_a, monitor_a, pathologist, pathologist_2, data_manager):
    objs = site_objects(site_a, coordinator_a, monitor_a, pathologist, pathologist_2, coordinator_a, "Fuzz query")
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield objs
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


_REAL_ROWS = (
    (r"^/api/v1/queries/sdv/\{id\}/", "verification"), (r"^/api/v1/queries/patients/\{id\}/", "patient"),
    (r"^/api/v1/queries/sites/\{id\}/", "site"), (r"^/api/v1/queries/\{id\}/", "query"),
    (r"^/api/v1/sites/\{id\}/", "site"), (r"^/api/v1/pathology/cases/\{id\}/", "case"),
    (r"^/api/v1/pathology/shipments/\{id\}/", "shipment"),
    (r"^/api/v1/pathology/notifications/\{id\}/", "notification"), (r"^/api/v1/exports/jobs/\{id\}/", "job"),
)


def point_at_real_rows(case, objs) -> None:
    """Path ids of generated cases name the world's rows (site A), so requests reach the services."""
    url, params, forms = case.operation.path, case.path_parameters or {}, objs.forms
    codes = [segment for segment in url.split("/") if segment in _FAMILIES]
    if "patient_id" in params or re.match(r"^/api/v1/patients/\{id\}/", url):
        params["patient_id" if "patient_id" in params else "id"] = forms["patient"].pk
    if "line_id" in params:
        params["line_id"] = forms["treatment"].pk
    if codes and "id" in params:
        params["id"] = forms[codes[-1]].pk
    if "code" in params:
        params["code"] = "flow"
    for pattern, attribute in _REAL_ROWS:
        if "id" in params and re.match(pattern, url):
            row = forms["patient"] if attribute == "patient" else getattr(objs, attribute)
            params["id"] = row.pk
    if codes and case.headers and "If-Match" in case.headers:
        form = forms[codes[-1]]
        current = type(form).objects.filter(pk=form.pk).values_list("version", flat=True).first()
        case.headers["If-Match"] = f'"{current or 1}"'


def _failure_lines(exc: BaseException) -> list[str]:
    """One line per failure: its kind, title and, for a schema violation, where the body broke which rule."""
    failures = getattr(exc, "exceptions", None) or [exc]
    return [f"{type(f).__name__}: {str(getattr(f, 'title', '') or f).splitlines()[0][:160]}"
            + (f" at {list(f.instance_path)}: {f.validation_message[:160]}"
               if getattr(f, "validation_message", None) else "") for f in failures]


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["coordinator_a", "data_manager"])
def test_fuzz_every_operation_no_5xx_and_responses_match_the_schema(fuzz_world, persona, request):
    user = request.getfixturevalue(persona)
    headers = {"Authorization": f"Token {Token.objects.get_or_create(user=user)[0].key}"}
    statuses, failures, unsatisfiable = collections.Counter(), [], []
    for operation in OPERATIONS:
        for mode in GenerationMode:
            @given(case=operation.as_strategy(mode))
            @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            def call(case):
                point_at_real_rows(case, fuzz_world)
                response = case.call(headers=headers)
                statuses[response.status_code] += 1
                try:
                    case.validate_response(response, checks=CHECKS)
                except (AssertionError, FailureGroup) as exc:  # collect every failure, report all at the end
                    for line in _failure_lines(exc):
                        failures.append((case.method.upper(), case.operation.path, response.status_code, line))

            try:
                call()
            except Unsatisfiable:  # e.g. no invalid input exists for an operation without parameters or body
                unsatisfiable.append(f"{operation.method.upper()} {operation.path} ({mode.value})")
    requests = sum(statuses.values())
    server_errors = sum(n for code, n in statuses.items() if code >= 500)
    TOTALS.update(requests=requests, server_errors=server_errors, violations=len(failures))
    print(f"\nfuzzed as {persona}: {requests} requests over {len(OPERATIONS)} operations, "
          f"statuses {dict(sorted(statuses.items()))}, 5xx {server_errors}, violations {len(failures)}, "
          f"no case possible: {len(unsatisfiable)}")
    for failure in sorted(set(failures)):
        print("  ", *failure)
    assert requests >= len(OPERATIONS) * 2
    assert server_errors == 0 and failures == []
