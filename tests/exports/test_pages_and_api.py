"""Export pages, REST API and admin: own jobs only (another user's job → 404), three personas, download."""

import hashlib

import pytest
from django.urls import reverse

from registry.exports import services
from registry.exports.models import ExportJob, JobSource
from tests.factories.sites import PASSWORD

pytestmark = pytest.mark.django_db


def finished(user, **kw):
    job = services.export_job_create(user=user, shape=kw.pop("shape", "wide"), fmt=kw.pop("fmt", "csv"), **kw)
    services.export_job_build(job.pk)
    job.refresh_from_db()
    return job


def login(client, user):
    client.force_login(user)  # django-axes needs a request for login(); the session is what matters here
    return client


def test_member_sees_progress_and_downloads_own_export(client, coordinator_a, two_sites):
    job = finished(coordinator_a)
    c = login(client, coordinator_a)
    assert job.file_name in c.get(reverse("exports:list")).content.decode()
    page = c.get(reverse("exports:detail", args=[job.pk])).content.decode()
    assert "Download" in page and job.checksum_sha256 in page
    partial = c.get(reverse("exports:progress", args=[job.pk]))
    assert 'id="export-progress"' in partial.content.decode() and "hx-get" not in partial.content.decode()
    response = c.get(reverse("exports:download", args=[job.pk]))
    body = b"".join(response.streaming_content)
    assert response["Content-Disposition"].startswith("attachment")
    assert hashlib.sha256(body).hexdigest() == job.checksum_sha256
    assert {line.split(b",")[1] for line in body.splitlines()[1:]} == {p.study_id.encode() for p in two_sites["a"]}


def test_queued_job_page_polls(client, coordinator_a, two_sites):
    job = services.export_job_create(user=coordinator_a, shape="wide", fmt="csv")
    html = login(client, coordinator_a).get(reverse("exports:progress", args=[job.pk])).content.decode()
    assert "hx-get" in html and 'hx-trigger="every 2s"' in html


def test_other_site_user_gets_404_for_detail_and_download(client, coordinator_a, coordinator_b, two_sites):
    job = finished(coordinator_a)
    c = login(client, coordinator_b)
    for name in ("exports:detail", "exports:progress", "exports:download"):
        assert c.get(reverse(name, args=[job.pk])).status_code == 404


def test_outsider_is_refused_and_anonymous_redirected(client, outsider):
    assert client.get(reverse("exports:list")).status_code == 302
    assert login(client, outsider).get(reverse("exports:list")).status_code == 403


def test_new_export_form_queues_a_job(client, coordinator_a, two_sites, site_a):
    c = login(client, coordinator_a)
    assert c.get(reverse("exports:new")).status_code == 200
    response = c.post(reverse("exports:new"), {"format": "xlsx", "shape": "long", "forms": ["baseline"],
                                               "sites": [site_a.pk], "dates": "shift", "minimum_status": "draft",
                                               "delimiter": "comma", "drop_free_text": "on"})
    job = ExportJob.objects.get(requested_by=coordinator_a)
    assert response.status_code == 302 and response["Location"] == reverse("exports:detail", args=[job.pk])
    assert job.format == "xlsx" and job.options["dates"] == "shift" and job.pseudonymised


def test_new_export_form_rejects_another_site(client, coordinator_a, site_b, two_sites):
    response = login(client, coordinator_a).post(reverse("exports:new"), {
        "format": "csv", "shape": "long", "sites": [site_b.pk], "dates": "keep", "minimum_status": "draft",
        "delimiter": "comma"})
    assert response.status_code == 400 and not ExportJob.objects.exists()


def test_api_create_list_detail_download(api_client, coordinator_a, coordinator_b, outsider, two_sites,
                                         django_assert_max_num_queries):
    client = api_client(coordinator_a)
    created = client.post("/api/v1/exports/jobs/", {"format": "parquet", "shape": "wide"}, format="json")
    assert created.status_code == 202, created.content
    job_id = created.json()["id"]
    assert created.json()["status"] == "queued" and created.json()["download_url"] is None
    services.export_job_build(job_id)
    with django_assert_max_num_queries(8):
        listing = client.get("/api/v1/exports/jobs/")
    assert [j["id"] for j in listing.json()["results"]] == [job_id]
    detail = client.get(f"/api/v1/exports/jobs/{job_id}/").json()
    assert detail["status"] == "succeeded" and detail["manifest"]["sha256"] == detail["checksum_sha256"]
    download = client.get(detail["download_url"])
    assert download.status_code == 200
    assert hashlib.sha256(b"".join(download.streaming_content)).hexdigest() == detail["checksum_sha256"]
    other = api_client(coordinator_b)
    assert other.get(f"/api/v1/exports/jobs/{job_id}/").status_code == 404
    assert other.get(f"/api/v1/exports/jobs/{job_id}/download/").status_code == 404
    assert other.get("/api/v1/exports/jobs/").json()["results"] == []
    assert api_client(outsider).post("/api/v1/exports/jobs/", {"format": "csv"}, format="json").status_code == 403
    assert api_client().get("/api/v1/exports/jobs/").status_code in (401, 403)


def test_api_rejects_unknown_forms(api_client, data_manager):
    response = api_client(data_manager).post("/api/v1/exports/jobs/", {"format": "csv", "forms": ["nope"]},
                                             format="json")
    assert response.status_code == 400


def test_admin_action_exports_selected_rows_and_is_logged(client, two_sites):
    from django.contrib.auth import get_user_model

    admin_user = get_user_model().objects.create_superuser("root", "root@example.org", PASSWORD)
    c = login(client, admin_user)
    patients = two_sites["a"]
    response = c.post(reverse("admin:patients_patient_changelist"),
                      {"action": "export_selected_csv", "_selected_action": [p.pk for p in patients]})
    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == 3 and "study_id" in lines[0]
    logged = ExportJob.objects.get(source=JobSource.ADMIN_ACTION)
    assert logged.row_count == 2 and logged.manifest["model"] == "patients.Patient"


def test_admin_lists_only_own_jobs_for_staff(client, coordinator_a, data_manager, two_sites):
    mine = finished(coordinator_a)
    finished(data_manager)
    coordinator_a.is_staff = True
    coordinator_a.save()
    from django.contrib.auth.models import Permission

    coordinator_a.user_permissions.add(Permission.objects.get(codename="view_exportjob"))
    page = login(client, coordinator_a).get(reverse("admin:exports_exportjob_changelist"))
    assert page.status_code == 200
    assert list(page.context["cl"].queryset) == [mine]
