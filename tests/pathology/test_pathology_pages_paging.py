"""The queue and material pages a page at a time (issue 7, scale): the queue counts only the scoped, filtered
cases and fetches `my_read` for the page's rows only; the material page pages its three lists separately, each
with its own page parameter, in bounded queries whose number does not grow with the data."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from registry.pathology import selectors, services, views
from registry.pathology.models import ReviewCase
from tests.factories.crfs import data_entry_user, days_ago
from tests.factories.pathology import claim_and_read, ready_case, submitted_specimen

pytestmark = pytest.mark.django_db

QUEUE_ORDER = ("-priority", "material_received_at", "opened_at", "pk")


def _section(html: str, table_id: str) -> str:
    """The table with this id and the page links right after it (up to the next heading or the end)."""
    start = html.index(f'id="{table_id}"')
    end = html.find("<h2", start)
    return html[start:end if end != -1 else len(html)]


def _rows(section: str) -> list[str]:
    """The study ids in a material table (each row starts with its study id cell)."""
    return re.findall(r"<tr[^>]*>\s*<td>([A-Z0-9-]+)</td>", section)


# --- Queue -------------------------------------------------------------------------------------------------------

def test_queue_count_reads_neither_the_read_annotation_nor_the_row_joins(site_a, pathologist, client):
    ready_case(site=site_a, receiver=pathologist)
    ready_case(site=site_a, receiver=pathologist)
    client.force_login(pathologist)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("pathology:queue"))
    assert response.status_code == 200
    assert response.context["page_obj"].paginator.count == 2
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"]]
    assert len(counts) == 1
    for table in ("pathology_centralreview", "crfs_localpathology", "auth_user", "pathology_finalclassification"):
        assert table not in counts[0], table


def test_queue_pages_keep_the_queue_order_and_each_rows_own_read(site_a, pathologist, client, monkeypatch):
    cases = [ready_case(site=site_a, receiver=pathologist) for _ in range(3)]
    claim_and_read(cases[1], pathologist)  # now waiting for a second reader; this pathologist has read it
    monkeypatch.setattr(views, "QUEUE_PAGE_SIZE", 1)
    expected = list(selectors.case_list_for_user(pathologist).order_by(*QUEUE_ORDER).values_list("pk", "my_read"))
    assert sorted(expected) == sorted([(c.pk, c.pk == cases[1].pk) for c in cases])
    client.force_login(pathologist)
    seen = []
    for number in (1, 2, 3):
        response = client.get(reverse("pathology:queue"), {"page": number})
        page = response.context["page_obj"]
        assert page.number == number and page.paginator.num_pages == 3
        seen += [(row.case.pk, row.case.my_read) for row in response.context["rows"]]
        html = response.content.decode()
        claim = reverse("pathology:claim", args=[response.context["rows"][0].case.pk])
        # A case this pathologist has read offers no claim; the others do.
        assert (claim in html) is (response.context["rows"][0].case.pk != cases[1].pk)
    assert seen == expected
    # Past the last page: the last page, not an error.
    assert client.get(reverse("pathology:queue"), {"page": 99}).context["page_obj"].number == 3


def test_queue_count_follows_the_filters_and_the_users_sites(site_a, site_b, pathologist, coordinator_a, client,
                                                             monkeypatch):
    ready_case(site=site_a, receiver=pathologist)
    ready_case(site=site_a, receiver=pathologist)
    ready_case(site=site_b, receiver=pathologist)
    monkeypatch.setattr(views, "QUEUE_PAGE_SIZE", 1)
    client.force_login(pathologist)
    page = client.get(reverse("pathology:queue")).context["page_obj"]
    assert page.paginator.count == 3
    response = client.get(reverse("pathology:queue"), {"site": "AUH"})
    assert response.context["page_obj"].paginator.count == 1
    assert [r.case.patient.site.code for r in response.context["rows"]] == ["AUH"]
    response = client.get(reverse("pathology:queue"), {"site": "OUS", "page": 2})
    assert response.context["page_obj"].paginator.count == 2
    assert "site=OUS&amp;page=1" in response.content.decode()  # page links keep the filters
    # Site staff do not work the queue at all.
    client.force_login(coordinator_a)
    assert client.get(reverse("pathology:queue")).status_code == 403


def test_queue_count_stops_some_pages_past_the_page_asked_for(site_a, pathologist, client, monkeypatch):
    for _ in range(4):
        ready_case(site=site_a, receiver=pathologist)
    monkeypatch.setattr(views, "QUEUE_PAGE_SIZE", 1)
    monkeypatch.setattr(selectors, "COUNT_LOOKAHEAD_PAGES", 1)
    client.force_login(pathologist)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("pathology:queue"))
    paginator = response.context["page_obj"].paginator
    # Page 1 counts at most (1 + 1) pages and one row more: three of the four, so "more".
    assert (paginator.count, paginator.more, paginator.num_pages) == (3, True, 3)
    assert "Page 1 of 3+" in response.content.decode()
    count = next(q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"])
    assert "LIMIT 3" in count
    # From page 3 the count reaches the end of the queue: exact again, and the last page has no "Next".
    response = client.get(reverse("pathology:queue"), {"page": 3})
    paginator = response.context["page_obj"].paginator
    assert (paginator.count, paginator.more, paginator.num_pages) == (4, False, 4)
    html = response.content.decode()
    assert "Page 3 of 4<" in html and "page=4" in html
    response = client.get(reverse("pathology:queue"), {"page": 4})
    assert [r.case.pk for r in response.context["rows"]] and "page=5" not in response.content.decode()


# --- Material ------------------------------------------------------------------------------------------------------

def _material(site, pathologist, n: int) -> list[str]:
    """n open cases at `site`; for case i a slide parcel in transit sent 10 - i days ago and a received block
    parcel due back in order of i. Returns the study ids in case order."""
    study_ids = []
    for i in range(n):
        specimen = submitted_specimen(site=site)
        sender = data_entry_user(site)
        services.shipment_create(specimen=specimen, user=sender, shipped_on=days_ago(10 - i), items={"HE": 1},
                                 courier_reference=f"TRANSIT-{i}")
        blocks = services.shipment_create(specimen=specimen, user=sender, shipped_on=days_ago(30 - i),
                                          items={"block": 1}, courier_reference=f"BLOCKS-{i}")
        services.shipment_receive(shipment=blocks, user=pathologist, received_on=days_ago(25 - i))
        study_ids.append(specimen.patient.study_id)
    return study_ids


def test_material_lists_are_paged_each_by_its_own_parameter(site_a, pathologist, data_manager, client,
                                                            monkeypatch):
    study_ids = _material(site_a, pathologist, 3)
    monkeypatch.setattr(views, "MATERIAL_PAGE_SIZE", 1)
    client.force_login(data_manager)  # study-wide data manager: the site list and both central lists
    response = client.get(reverse("pathology:material"), {"out_page": 2, "recv_page": 3, "ret_page": 1})
    assert response.status_code == 200
    html = response.content.decode()
    outstanding, to_receive, blocks_out = (_section(html, t) for t in ("outstanding", "to-receive", "blocks-out"))
    assert _rows(outstanding) == [study_ids[1]]
    assert _rows(to_receive) == [study_ids[2]] and "TRANSIT-2" in to_receive
    assert _rows(blocks_out) == [study_ids[0]]
    for page, name in ((response.context["outstanding_page"], "out_page"), (response.context["to_receive"],
                                                                           "recv_page"),
                       (response.context["blocks_out"], "ret_page")):
        assert page.paginator.count == 3 and page.paginator.num_pages == 3, name
    # Each list's links move that list only and keep the others' pages.
    assert "?out_page=3&amp;recv_page=3&amp;ret_page=1" in outstanding
    assert "?out_page=1&amp;recv_page=3&amp;ret_page=1" in outstanding
    assert "?out_page=2&amp;recv_page=2&amp;ret_page=1" in to_receive
    assert "?out_page=2&amp;recv_page=3&amp;ret_page=2" in blocks_out
    # Out of range or not a number: the last or the first page.
    response = client.get(reverse("pathology:material"), {"out_page": 99, "recv_page": "x"})
    assert response.context["outstanding_page"].number == 3 and response.context["to_receive"].number == 1


def test_material_outstanding_pages_count_only_the_users_sites(site_a, site_b, pathologist, coordinator_a,
                                                               coordinator_b, client, monkeypatch):
    ours = _material(site_a, pathologist, 2)
    theirs = _material(site_b, pathologist, 1)
    monkeypatch.setattr(views, "MATERIAL_PAGE_SIZE", 1)
    client.force_login(coordinator_a)
    seen = []
    for number in (1, 2):
        response = client.get(reverse("pathology:material"), {"out_page": number})
        assert response.context["outstanding_page"].paginator.count == 2
        assert "to_receive" not in response.context  # the central lists are not for site staff
        seen += _rows(_section(response.content.decode(), "outstanding"))
    assert seen == ours and theirs[0] not in seen
    # The rows still carry what is missing, in transit and the blocks held centrally.
    row = response.context["outstanding"][0]
    assert [s.courier_reference for s in row.in_transit] == ["TRANSIT-1"]
    assert [s.courier_reference for s in row.blocks_out] == ["BLOCKS-1"]
    assert "H&E slide" not in row.missing and row.missing
    client.force_login(coordinator_b)
    response = client.get(reverse("pathology:material"))
    assert _rows(_section(response.content.decode(), "outstanding")) == theirs


def test_material_blocks_list_holds_only_received_shipments_with_blocks_not_yet_returned(site_a, pathologist,
                                                                                          data_manager, client):
    study_ids = _material(site_a, pathologist, 2)
    first = ReviewCase.objects.get(patient__study_id=study_ids[0])
    blocks = first.specimen.shipments.get(courier_reference="BLOCKS-0")
    services.shipment_return_blocks(shipment=blocks, user=pathologist, returned_on=days_ago(0))
    received_slides = services.shipment_create(specimen=first.specimen, user=data_entry_user(site_a),
                                               shipped_on=days_ago(3), items={"CgA": 1})
    services.shipment_receive(shipment=received_slides, user=pathologist, received_on=days_ago(1))
    client.force_login(data_manager)
    page = client.get(reverse("pathology:material")).context["blocks_out"]
    assert [s.courier_reference for s in page] == ["BLOCKS-1"] and page.paginator.count == 1


def test_material_page_query_count_does_not_grow_with_the_lists(site_a, pathologist, data_manager, client):
    _material(site_a, pathologist, 1)
    client.force_login(data_manager)
    url = reverse("pathology:material")
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    _material(site_a, pathologist, 3)
    with CaptureQueriesContext(connection) as large:
        response = client.get(url)
    assert response.context["outstanding_page"].paginator.count == 4
    assert len(large.captured_queries) == len(small.captured_queries)
