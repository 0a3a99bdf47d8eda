"""Pages and API: statisticians and data managers only (site coordinator, outsider and anonymous refused),
data-manager-only writes, figures served by a role-checking view, the report (HTML and PDF), htmx progress,
small cells never shown, and pinned query counts."""

import pytest
from django.urls import reverse

from analysis import services
from analysis.models import AnalysisDefinition, AnalysisFigure, AnalysisRun
from tests.factories.analysis import cohort

pytestmark = pytest.mark.django_db

SHOWN = ("flow", "table1", "response-line1", "km-os-group", "cox-multi-pfs-nec")


@pytest.fixture
def computed(site_a, coordinator_a):
    """Seven NEC and three NET G3 patients (every NET G3 count is below the default minimum of 5), computed."""
    cohort(site_a, n_nec=7, n_net=3, user=coordinator_a)
    AnalysisDefinition.objects.exclude(code__in=SHOWN).update(enabled=False)
    return services.analysis_run_execute(services.analysis_tick().pk)


def get(client, user, url, **kwargs):
    client.force_login(user)
    return client.get(url, **kwargs)


# --- pages ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["statistician", "data_manager"])
def test_analysts_see_dashboard_report_and_figures(client, computed, request, persona):
    user = request.getfixturevalue(persona)
    page = get(client, user, reverse("analysis:dashboard"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Computed at" in html and "data as of" in html and "Run history" in html
    assert ("Recompute now" in html) is (persona == "data_manager")
    assert "<script>" not in html  # CSP: no inline scripts
    figure = AnalysisFigure.objects.filter(result__run=computed, fmt="png").first()
    assert reverse("analysis:figure", args=[figure.pk, "png"]) in html
    image = client.get(reverse("analysis:figure", args=[figure.pk, "png"]))
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert image.content[:4] == b"\x89PNG"
    assert reverse("analysis:figure", args=[figure.pk, "svg"]) in html  # the SVG twin, rendered on request
    svg = client.get(reverse("analysis:figure", args=[figure.pk, "svg"]))
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml"
    report = client.get(reverse("analysis:report"))
    assert report.status_code == 200
    assert "Table 1" in report.content.decode() and "Cox" in report.content.decode()
    run = client.get(reverse("analysis:run_detail", args=[computed.pk]))
    assert run.status_code == 200 and computed.fingerprint in run.content.decode()
    assert client.get(reverse("analysis:runs")).status_code == 200


def test_report_pdf(client, computed, statistician):
    response = get(client, statistician, reverse("analysis:report_pdf"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content[:5] == b"%PDF-"
    assert len(response.content) > 20_000  # figures are embedded


@pytest.mark.parametrize("persona", ["coordinator_a", "outsider", "pathologist", "monitor_a"])
def test_other_roles_are_refused_everywhere(client, computed, request, persona):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    figure = AnalysisFigure.objects.filter(result__run=computed).first()
    for url in (reverse("analysis:dashboard"), reverse("analysis:report"), reverse("analysis:report_pdf"),
                reverse("analysis:runs"), reverse("analysis:run_detail", args=[computed.pk]),
                reverse("analysis:run_progress", args=[computed.pk]),
                reverse("analysis:figure", args=[figure.pk, figure.fmt])):
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("analysis:recompute")).status_code == 403


def test_anonymous_is_sent_to_login(client, computed):
    response = client.get(reverse("analysis:dashboard"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_recompute_button_queues_a_run_with_htmx_progress(client, computed, data_manager, statistician):
    client.force_login(statistician)
    assert client.post(reverse("analysis:recompute")).status_code == 403
    client.force_login(data_manager)
    response = client.post(reverse("analysis:recompute"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    run = AnalysisRun.objects.latest("pk")
    assert (run.status, run.trigger, run.requested_by) == ("queued", "manual", data_manager)
    html = response.content.decode()
    assert f'hx-get="{reverse("analysis:run_progress", args=[run.pk])}"' in html and 'hx-trigger="every 2s"' in html
    services.analysis_run_execute(run.pk)
    done = client.get(reverse("analysis:run_progress", args=[run.pk])).content.decode()
    assert "hx-get" not in done and "Succeeded" in done  # polling stops once the run is finished
    plain = client.post(reverse("analysis:recompute"))
    assert plain.status_code == 302


def test_pages_never_show_small_cells(client, computed, statistician):
    html = get(client, statistician, reverse("analysis:dashboard")).content.decode()
    assert "NET G3 (n = &lt; 5)" in html  # Table 1 column header for the 3 NET G3 patients
    assert "NET G3 (n = 3)" not in html
    assert "NEC (n = 7)" in html


def test_dashboard_query_count_does_not_grow_with_results(client, computed, statistician,
                                                          django_assert_max_num_queries):
    client.force_login(statistician)
    client.get(reverse("analysis:dashboard"))
    with django_assert_max_num_queries(14):
        assert client.get(reverse("analysis:dashboard")).status_code == 200
    AnalysisDefinition.objects.update(enabled=True)
    services.analysis_run_execute(services.analysis_tick().pk)
    with django_assert_max_num_queries(14):
        assert client.get(reverse("analysis:dashboard")).status_code == 200


# --- API -----------------------------------------------------------------------------------------------


API = "/api/v1/analysis/"


@pytest.mark.parametrize("persona", ["statistician", "data_manager"])
def test_api_reads_for_analysts(api_client, computed, request, persona, django_assert_max_num_queries):
    client = api_client(request.getfixturevalue(persona))
    definitions = client.get(f"{API}definitions/")
    assert definitions.status_code == 200
    assert {d["code"] for d in definitions.json()} >= set(SHOWN)
    assert client.get(f"{API}definitions/km-os-group/").json()["method"] == "km"
    runs = client.get(f"{API}runs/").json()
    assert runs["results"][0]["id"] == computed.pk and "dataset" not in runs["results"][0]
    detail = client.get(f"{API}runs/{computed.pk}/").json()
    assert {r["definition_code"] for r in detail["results"]} == set(SHOWN)
    latest = client.get(f"{API}results/latest/").json()
    km = next(r for r in latest if r["definition_code"] == "km-os-group")
    assert {f["fmt"] for f in km["figures"]} == {"png", "svg"}
    assert client.get(f"{API}settings/").json()["min_cell_size"] == 5
    with django_assert_max_num_queries(8):
        assert client.get(f"{API}results/latest/").status_code == 200
    with django_assert_max_num_queries(6):
        assert client.get(f"{API}definitions/").status_code == 200


@pytest.mark.parametrize("persona", ["coordinator_a", "outsider", "pathologist"])
def test_api_refuses_other_roles(api_client, computed, request, persona):
    client = api_client(request.getfixturevalue(persona))
    for url in ("definitions/", "definitions/km-os-group/", "runs/", f"runs/{computed.pk}/", "results/latest/",
                "settings/"):
        assert client.get(f"{API}{url}").status_code == 403, url
    assert client.post(f"{API}runs/").status_code == 403
    assert api_client().get(f"{API}runs/").status_code == 401


def test_api_definition_crud_is_for_data_managers(api_client, data_manager, statistician):
    body = {"code": "km-os-sex", "title": "OS by sex", "method": "km", "endpoint": "os", "population": "p3",
            "grouping_variable": "sex", "group_order": ["male", "female"]}
    assert api_client(statistician).post(f"{API}definitions/", body, format="json").status_code == 403
    dm = api_client(data_manager)
    created = dm.post(f"{API}definitions/", body, format="json")
    assert created.status_code == 201 and created.json()["grouping_variable"] == "sex"
    assert dm.post(f"{API}definitions/", body, format="json").status_code == 409
    bad = dm.post(f"{API}definitions/", {**body, "code": "bad", "covariates": [{"name": "ps_group",
                                                                                "kind": "categorical"}],
                                          "method": "cox_multi"}, format="json")
    assert bad.status_code == 400 and "reference" in bad.json()["detail"]
    assert api_client(statistician).patch(f"{API}definitions/km-os-sex/", {"enabled": False},
                                          format="json").status_code == 403
    patched = dm.patch(f"{API}definitions/km-os-sex/", {"enabled": False}, format="json")
    assert patched.status_code == 200 and patched.json()["enabled"] is False
    assert dm.patch(f"{API}definitions/km-os-sex/", {"grouping_variable": "nope"}, format="json").status_code == 400
    assert api_client(statistician).delete(f"{API}definitions/km-os-sex/").status_code == 403
    assert dm.delete(f"{API}definitions/km-os-sex/").status_code == 204
    assert dm.get(f"{API}definitions/km-os-sex/").status_code == 404


def test_api_settings_and_recompute_for_data_managers(api_client, data_manager, statistician):
    assert api_client(statistician).patch(f"{API}settings/", {"min_cell_size": 3}, format="json").status_code == 403
    dm = api_client(data_manager)
    response = dm.patch(f"{API}settings/", {"min_cell_size": 3, "ki67_operator": "gt"}, format="json")
    assert response.status_code == 200 and response.json()["min_cell_size"] == 3
    assert dm.patch(f"{API}settings/", {"min_cell_size": 0}, format="json").status_code == 400
    queued = dm.post(f"{API}runs/")
    assert queued.status_code == 202 and queued.json()["status"] == "queued"


def test_api_results_never_show_small_cells(api_client, computed, statistician):
    latest = {r["definition_code"]: r for r in api_client(statistician).get(f"{API}results/latest/").json()}
    groups = {g["group"]: g for g in latest["km-os-group"]["result"]["km"]["groups"]}
    assert groups["NET_G3"] == {"group": "NET_G3", "suppressed": True, "n": None}
    assert latest["flow"]["result"]["by_group"]["NET_G3"]["p3"] is None
