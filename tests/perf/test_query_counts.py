"""Every list page and list API endpoint issues the same number of SQL queries whatever the amount of data
(DESIGN.md §6: constant query count per page). Each test measures its pages with a small registry, grows the
registry five-fold (more patients with forms, findings, automatic and manual queries, review cases, reads,
shipments, export jobs and analysis runs) and measures again: a count that grows is an N+1 to fix."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client, TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from analysis.models import AnalysisRun, RunStatus, RunTrigger
from registry.exports.models import ExportFormat, Shape
from registry.exports.services import export_job_create
from registry.pathology.models import ReviewCase
from registry.sites.models import Role
from tests.factories.crfs import VISIT, FollowUpFactory, days_ago
from tests.factories.pathology import claim_and_read, ship_and_receive
from tests.factories.queries import casebook_with_warning, manual_query, submit_all
from tests.factories.sites import member

SMALL, LARGE = 3, 15

pytestmark = pytest.mark.django_db


class Registry:
    """A growing registry at two sites: every patient gets the whole workflow the list pages show."""

    def __init__(self, site_a, site_b, *, coordinator, monitor, pathologist, data_manager):
        self.sites = (site_a, site_b)
        self.coordinator, self.monitor, self.pathologist, self.data_manager = (
            coordinator, monitor, pathologist, data_manager)
        self.patients: list = []

    def grow_to(self, n: int) -> None:
        while len(self.patients) < n:
            i = len(self.patients)
            site = self.sites[i % 2] if i else self.sites[0]  # the first patient (casebook page) is at site A
            user = self.coordinator if site == self.sites[0] else None
            forms = casebook_with_warning(site, user) if user else casebook_with_warning(site, _coordinator(site))
            FollowUpFactory(patient=forms["patient"], user=user or _coordinator(site))
            with TestCase.captureOnCommitCallbacks(execute=True):  # opens the review case, as in production
                submit_all(forms, user or _coordinator(site))
            manual_query(forms["baseline"], user=self.monitor if site == self.sites[0] else self.data_manager,
                         field="ecog_ps")
            case = ReviewCase.objects.get(patient=forms["patient"])
            ship_and_receive(case, receiver=self.pathologist)
            if i % 2 == 0:
                case.refresh_from_db()
                claim_and_read(case, self.pathologist)
            export_job_create(user=self.data_manager, shape=Shape.WIDE, fmt=ExportFormat.CSV)
            AnalysisRun.objects.create(status=RunStatus.SUCCEEDED, trigger=RunTrigger.TICK, requested_by=None)
            self.patients.append(forms["patient"])
            if i:  # the first patient's case book grows too: one more follow-up visit per patient added
                first = self.patients[0]
                FollowUpFactory(patient=first, user=self.coordinator, visit_date=days_ago(VISIT + i),
                                date_last_known_alive=days_ago(VISIT + i))


def _coordinator(site):
    from tests.factories.crfs import data_entry_user

    return data_entry_user(site)


@pytest.fixture
def registry(site_a, site_b, coordinator_a, monitor_a, pathologist, data_manager):
    return Registry(site_a, site_b, coordinator=coordinator_a, monitor=monitor_a, pathologist=pathologist,
                    data_manager=data_manager)


def _web(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _api(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def _count(client, url: str) -> int:
    client.get(url)  # warm-up: first-request work (content types, sessions, caches) is not per-row work
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, f"{url}: HTTP {response.status_code}"
    return len(ctx.captured_queries)


def _assert_constant(registry: Registry, pages: dict[str, tuple]) -> None:
    """pages: {label: (client, url or callable(registry) -> url)}; counts at SMALL then LARGE patients."""
    def measure():
        return {label: _count(client, url(registry) if callable(url) else url)
                for label, (client, url) in pages.items()}

    registry.grow_to(SMALL)
    small = measure()
    registry.grow_to(LARGE)
    large = measure()
    grew = {label: (small[label], large[label]) for label in pages if small[label] != large[label]}
    assert not grew, f"query counts grew with the data ({SMALL} -> {LARGE} patients): {grew}"


def _casebook_pages(coordinator, data_manager) -> dict:
    coord, dm = _web(coordinator), _web(data_manager)
    coord_api, dm_api = _api(coordinator), _api(data_manager)
    return {
        "CRF dashboard (site staff)": (coord, reverse("crfs:dashboard")),
        "CRF dashboard (data manager)": (dm, reverse("crfs:dashboard")),
        "casebook page": (coord, lambda r: reverse("crfs:patient", args=[r.patients[0].pk])),
        "API patients": (dm_api, "/api/v1/patients/"),
        "API patients (site staff)": (coord_api, "/api/v1/patients/"),
        "API follow-ups of one patient": (coord_api, lambda r: f"/api/v1/patients/{r.patients[0].pk}/followup/"),
        "API regimens": (coord_api, "/api/v1/regimens/"),
        "API findings": (dm_api, "/api/v1/findings/"),
        "API sites": (dm_api, "/api/v1/sites/"),
    }


def _query_pages(monitor, data_manager) -> dict:
    mon, dm = _web(monitor), _web(data_manager)
    mon_api, dm_api = _api(monitor), _api(data_manager)
    return {
        "queries list (monitor)": (mon, reverse("queries:list")),
        "queries list (data manager)": (dm, reverse("queries:list")),
        "query worklist": (mon, reverse("queries:worklist")),
        "quality dashboard": (dm, reverse("queries:dashboard")),
        "patient quality page": (mon, lambda r: reverse("queries:patient", args=[r.patients[0].pk])),
        "API queries": (dm_api, "/api/v1/queries/"),
        "API queries (monitor)": (mon_api, "/api/v1/queries/"),
        "API query worklist": (mon_api, "/api/v1/queries/worklist/"),
        "API quality dashboard": (dm_api, "/api/v1/queries/dashboard/"),
        "API SDV list": (dm_api, "/api/v1/queries/sdv/"),
        "API signatures": (dm_api, "/api/v1/queries/signatures/"),
        "API freezes": (dm_api, "/api/v1/queries/freezes/"),
        "freezes page": (dm, reverse("queries:freezes")),
    }


def _pathology_pages(pathologist, data_manager, coordinator) -> dict:
    patho, dm, coord = _web(pathologist), _web(data_manager), _web(coordinator)
    patho_api, dm_api = _api(pathologist), _api(data_manager)
    return {
        "review queue": (patho, reverse("pathology:queue")),
        "review queue (data manager)": (dm, reverse("pathology:queue")),
        "material page (site staff)": (coord, reverse("pathology:material")),
        "notifications (site staff)": (coord, reverse("pathology:notifications")),
        "API cases (pathologist)": (patho_api, "/api/v1/pathology/cases/"),
        "API cases (data manager)": (dm_api, "/api/v1/pathology/cases/"),
        "API reviews": (dm_api, "/api/v1/pathology/reviews/"),
        "API shipments": (dm_api, "/api/v1/pathology/shipments/"),
        "API outstanding": (dm_api, "/api/v1/pathology/outstanding/"),
        "agreement page": (dm, reverse("pathology:agreement")),
        "API agreement": (dm_api, "/api/v1/pathology/agreement/"),
        "API notifications (site staff)": (_api(coordinator), "/api/v1/pathology/notifications/"),
    }


def _export_and_analysis_pages(data_manager) -> dict:
    dm, dm_api = _web(data_manager), _api(data_manager)
    return {
        "exports list": (dm, reverse("exports:list")),
        "analysis runs": (dm, reverse("analysis:runs")),
        "analysis dashboard": (dm, reverse("analysis:dashboard")),
        "API analysis definitions": (dm_api, "/api/v1/analysis/definitions/"),
        "API export jobs": (dm_api, "/api/v1/exports/jobs/"),
        "API analysis runs": (dm_api, "/api/v1/analysis/runs/"),
    }


def _admin_changelists() -> dict:
    admin = get_user_model().objects.create_superuser("root", "root@example.org", "correct-horse-battery-9")
    member(Role.DATA_MANAGER, None, "dm_for_admin")
    client = _web(admin)
    return {
        f"admin {name}": (client, reverse(f"admin:{name}_changelist"))
        for name in ("sites_site", "sites_sitemembership", "patients_patient", "queries_dataquery",
                     "pathology_reviewcase", "pathology_shipment", "pathology_centralreview",
                     "pathology_notification", "crfs_baseline", "crfs_treatmentline", "crfs_editcheckfinding",
                     "exports_exportjob", "analysis_analysisrun", "auth_user")
    }


def test_every_list_page_and_list_api_issues_the_same_number_of_queries_at_3_and_15_patients(
        registry, coordinator_a, monitor_a, pathologist, data_manager, settings, tmp_path):
    """One registry for every page (building it is most of the cost); the failure names each page that grew."""
    settings.MEDIA_ROOT = tmp_path / "media"
    _assert_constant(registry, {
        **_casebook_pages(coordinator_a, data_manager),
        **_query_pages(monitor_a, data_manager),
        **_pathology_pages(pathologist, data_manager, coordinator_a),
        **_export_and_analysis_pages(data_manager),
        **_admin_changelists(),
    })
