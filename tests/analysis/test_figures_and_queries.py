"""Figures rendered by a run (PNG) and on first request (SVG, from the stored result), the pinned query counts of
every analysis page and API endpoint at two result sizes, and the definitions list's ETag (304)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from analysis import services
from analysis.models import AnalysisDefinition, AnalysisFigure
from tests.factories.analysis import cohort

pytestmark = pytest.mark.django_db

FEW = ("flow", "table1", "response-line1", "km-os-group", "cox-multi-pfs-nec")
API = "/api/v1/analysis/"


@pytest.fixture
def computed(site_a, coordinator_a):
    cohort(site_a, n_nec=7, n_net=6, user=coordinator_a)
    AnalysisDefinition.objects.exclude(code__in=FEW).update(enabled=False)
    return services.analysis_run_execute(services.analysis_tick().pk)


def recompute_all():
    """Every paper definition enabled and computed: many more results and figures than `computed`."""
    AnalysisDefinition.objects.update(enabled=True)
    return services.analysis_run_execute(services.analysis_tick().pk)


def test_a_run_stores_the_pngs_and_the_svg_is_rendered_once_on_first_request(client, computed, statistician):
    figures = AnalysisFigure.objects.filter(result__run=computed)
    assert {f.fmt for f in figures} == {"png"}
    assert {(f.result.definition_code, f.name) for f in figures} == {("km-os-group", "km"),
                                                                      ("cox-multi-pfs-nec", "forest")}
    km = figures.get(name="km")
    client.force_login(statistician)
    first = client.get(reverse("analysis:figure", args=[km.pk, "svg"]))
    assert first.status_code == 200 and first["Content-Type"] == "image/svg+xml"
    text = first.content.decode()
    assert "Number at risk" in text and "NEC (n=7; median" in text and "log-log" in text
    stored = AnalysisFigure.objects.get(result=km.result, name="km", fmt="svg")
    again = client.get(reverse("analysis:figure", args=[km.pk, "svg"]))
    assert again.content == first.content == bytes(stored.content)
    assert client.get(reverse("analysis:figure", args=[stored.pk, "svg"])).content == first.content
    assert AnalysisFigure.objects.filter(result=km.result, fmt="svg").count() == 1
    assert client.get(reverse("analysis:figure", args=[stored.pk, "png"])).status_code == 404
    download = client.get(reverse("analysis:figure", args=[km.pk, "svg"]), {"download": "1"})
    assert download["Content-Disposition"] == 'attachment; filename="km-os-group.svg"'


def test_the_api_lists_a_png_and_an_svg_link_for_every_figure(api_client, computed, statistician):
    latest = {r["definition_code"]: r for r in api_client(statistician).get(f"{API}results/latest/").json()}
    km = AnalysisFigure.objects.get(result__run=computed, name="km")
    assert latest["km-os-group"]["figures"] == [
        {"id": km.pk, "name": "km", "fmt": fmt, "url": reverse("analysis:figure", args=[km.pk, fmt])}
        for fmt in ("png", "svg")]
    assert latest["table1"]["figures"] == []


# exact counts observed (session, user and role lookups included); the same for 5 and for 19 results
PAGES = {"dashboard": 11, "report": 7, "run_detail": 7, "figure": 4}
API_QUERIES = {"definitions/": 4, "definitions/km-os-group/": 3, "results/latest/": 4, "runs/": 4}
PAGE_NAMES = (*PAGES, "runs")
API_PATHS = (*API_QUERIES, "runs/{run}/", "settings/")


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200, url
    return len(captured.captured_queries)


def page_counts(client, run) -> dict[str, int]:
    figure = AnalysisFigure.objects.filter(result__run=run).first()
    urls = {"dashboard": reverse("analysis:dashboard"), "report": reverse("analysis:report"),
            "runs": reverse("analysis:runs"), "run_detail": reverse("analysis:run_detail", args=[run.pk]),
            "figure": reverse("analysis:figure", args=[figure.pk, "png"])}
    return {name: queries(client, urls[name]) for name in PAGE_NAMES}


def test_analysis_pages_make_the_same_exact_number_of_queries_for_few_and_many_results(
        client, computed, statistician):
    client.force_login(statistician)
    few = page_counts(client, computed)
    many = page_counts(client, recompute_all())  # 19 results and 15 figures instead of 5 and 2
    assert few == many
    assert {name: few[name] for name in PAGES} == PAGES


def test_analysis_api_makes_the_same_exact_number_of_queries_for_few_and_many_results(
        api_client, computed, statistician):
    client = api_client(statistician)
    few = {path: queries(client, API + path.format(run=computed.pk)) for path in API_PATHS}
    run = recompute_all()
    many = {path: queries(client, API + path.format(run=run.pk)) for path in API_PATHS}
    assert few == many
    assert {path: few[path] for path in API_QUERIES} == API_QUERIES


def test_definitions_list_answers_304_to_its_etag_until_a_definition_changes(
        api_client, statistician, data_manager, django_assert_num_queries):
    reader = api_client(statistician)
    first = reader.get(f"{API}definitions/")
    etag = first["ETag"]
    assert first.status_code == 200 and etag.startswith('"defs-')
    with django_assert_num_queries(3):  # token, role check, one aggregate: the list is not read
        cached = reader.get(f"{API}definitions/", HTTP_IF_NONE_MATCH=etag)
    assert cached.status_code == 304 and cached["ETag"] == etag and not cached.content
    assert reader.get(f"{API}definitions/", HTTP_IF_NONE_MATCH='"defs-0-0-0"').status_code == 200
    changed = api_client(data_manager).patch(f"{API}definitions/km-os-group/", {"title": "OS by group"},
                                             format="json")
    assert changed.status_code == 200
    after = reader.get(f"{API}definitions/", HTTP_IF_NONE_MATCH=etag)
    assert after.status_code == 200 and after["ETag"] != etag
    assert any(d["title"] == "OS by group" for d in after.json())
    api_client(data_manager).delete(f"{API}definitions/km-os-dx/")
    assert reader.get(f"{API}definitions/", HTTP_IF_NONE_MATCH=after["ETag"]).status_code == 200
