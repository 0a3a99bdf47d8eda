"""Locust scenario of a registry day (issue 7 item 4), driven by bench/load/run_load.py, which writes the plan
(tokens, passwords, each user's own patients) to the JSON file named by LOAD_PLAN.

- SiteStaff: read a patient's baseline form, save it back with If-Match and a reason for change (the form-save
  budget of DESIGN.md §6), browse the patient list and the follow-up list. Each locust user edits only its
  own patients, so a 412 (lost-update guard) would be a real error, not contention the scenario created.
- Monitor: query list, worklist, quality dashboard and one query through the API; the query list and CRF
  dashboard pages through a session, as in the browser.
- Pathologist: the review queue, claim-next, then a blinded read of the claimed case.
- Operations (one user): asks for one wide-CSV export and one analysis recompute at the start, then polls both
  until the worker finishes them; each completion is reported as its own entry ("job: …").

Every response other than the expected status counts as a failure. The quality dashboard task is tagged
"dashboard" (run_load.py --exclude-tags dashboard leaves it out: at 10,000 patients one request costs ~4 s CPU).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import threading
import time

from locust import HttpUser, between, events, tag, task

PLAN = json.loads(open(os.environ["LOAD_PLAN"]).read())  # noqa: SIM115 - read once at import
_counters: dict[str, itertools.count] = {}
_lock = threading.Lock()


def _next(role: str) -> int:
    with _lock:
        return next(_counters.setdefault(role, itertools.count()))


class _TokenUser(HttpUser):
    abstract = True
    wait_time = between(1, 2)

    def use_token(self, token: str) -> None:
        self.client.headers["Authorization"] = f"Token {token}"

    def get(self, url: str, name: str):
        with self.client.get(url, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}: {response.text[:200]}")
            return response


class SiteStaff(_TokenUser):
    weight = 30

    def on_start(self):
        i = _next("staff")
        accounts = PLAN["staff"]
        person = accounts[i % len(accounts)]
        self.use_token(person["token"])
        # The k-th locust user on an account takes every n-th of its patients from k: disjoint slices.
        k, n = i // len(accounts), PLAN["staff_users_per_account"]
        self.patients = person["patients"][k::n] if k < n else person["patients"]

    @task(5)
    def save_form(self):
        patient = random.choice(self.patients)
        url = f"/api/v1/patients/{patient}/baseline/"
        response = self.get(url, "GET form (baseline)")
        if response.status_code != 200:
            return
        etag = response.headers.get("ETag", "")
        weight = f"{random.uniform(55, 95):.1f}"
        headers = {"If-Match": etag, "X-Change-Reason": "Load test: weight re-checked against the chart."}
        with self.client.patch(url, json={"weight_kg": weight}, headers=headers, name="PATCH form (baseline)",
                               catch_response=True) as saved:
            if saved.status_code != 200:
                saved.failure(f"HTTP {saved.status_code}: {saved.text[:300]}")

    @task(2)
    def patient_list(self):
        self.get(f"/api/v1/patients/?page={random.randint(1, 3)}", "GET patients list")

    @task(1)
    def followups(self):
        self.get(f"/api/v1/patients/{random.choice(self.patients)}/followup/", "GET follow-up list")


class Monitor(_TokenUser):
    weight = 12

    def on_start(self):
        person = PLAN["monitors"][_next("monitor") % len(PLAN["monitors"])]
        self.use_token(person["token"])
        # A second client with a browser session for the server-rendered pages.
        page = self.client.get("/accounts/login/", name="GET login page")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        with self.client.post("/accounts/login/", name="POST login", catch_response=True, allow_redirects=False,
                              headers={"Authorization": "", "Referer": f"{self.host}/accounts/login/"},
                              data={"username": person["username"], "password": person["password"],
                                    "csrfmiddlewaretoken": token.group(1) if token else ""}) as response:
            if response.status_code != 302:
                response.failure(f"login failed: HTTP {response.status_code}")
        self.query_ids: list[int] = []

    @task(3)
    def query_list(self):
        response = self.get("/api/v1/queries/?status=open", "GET queries list")
        if response.status_code == 200:
            self.query_ids = [q["id"] for q in response.json().get("results", [])][:20]

    @task(2)
    def worklist(self):
        self.get("/api/v1/queries/worklist/", "GET query worklist")

    @tag("dashboard")
    @task(1)
    def dashboard(self):
        self.get("/api/v1/queries/dashboard/", "GET quality dashboard")

    @task(2)
    def query_detail(self):
        if self.query_ids:
            self.get(f"/api/v1/queries/{random.choice(self.query_ids)}/", "GET query")

    @task(2)
    def query_page(self):
        self.get(f"/queries/?page={random.randint(1, 3)}", "page /queries/")

    @task(1)
    def crf_dashboard_page(self):
        self.get("/patients/", "page /patients/")


class Pathologist(_TokenUser):
    weight = 6

    def on_start(self):
        self.use_token(PLAN["pathologists"][_next("pathologist") % len(PLAN["pathologists"])]["token"])

    @task(3)
    def queue(self):
        self.get("/api/v1/pathology/cases/", "GET review queue")

    @task(1)
    def claim_and_review(self):
        with self.client.post("/api/v1/pathology/cases/claim-next/", name="POST claim-next",
                              catch_response=True) as response:
            if response.status_code == 204:
                return  # nothing waiting for this reviewer: a valid answer
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}: {response.text[:300]}")
                return
        case = response.json()["id"]
        self.get(f"/api/v1/pathology/cases/{case}/", "GET case")
        read = {"adequate_material": True,
                "central_diagnosis": "NEC_large_cell", "differentiation": "poor", "morph_necrosis": "extensive",
                "morph_organoid_pattern": "absent", "morph_capillary_network_contact": "absent",
                "morph_desmoplastic_stroma": "present", "ki67_central_percent": "80.0",
                "ki67_central_cells_counted": 800, "p53_ihc": "aberrant", "rb1_ihc": "lost", "comment": ""}
        with self.client.post(f"/api/v1/pathology/cases/{case}/reviews/", json=read, name="POST review",
                              catch_response=True) as saved:
            if saved.status_code not in (200, 201):
                saved.failure(f"HTTP {saved.status_code}: {saved.text[:300]}")


class Operations(_TokenUser):
    """One data manager: an export and an analysis recompute run on the worker while the others work."""

    fixed_count = 1
    wait_time = between(2, 3)

    def on_start(self):
        self.use_token(PLAN["data_manager"]["token"])
        self.pending: dict[str, tuple[str, float]] = {}
        with self.client.post("/api/v1/exports/jobs/", json={"format": "csv", "shape": "wide"},
                              name="POST export job", catch_response=True) as response:
            if response.status_code != 202:
                response.failure(f"HTTP {response.status_code}: {response.text[:300]}")
            else:
                self.pending["export (wide CSV)"] = (f"/api/v1/exports/jobs/{response.json()['id']}/",
                                                     time.perf_counter())
        with self.client.post("/api/v1/analysis/runs/", name="POST analysis recompute",
                              catch_response=True) as response:
            if response.status_code != 202:
                response.failure(f"HTTP {response.status_code}: {response.text[:300]}")
            else:
                self.pending["analysis recompute"] = (f"/api/v1/analysis/runs/{response.json()['id']}/",
                                                      time.perf_counter())

    @task
    def poll(self):
        for label, (url, started) in list(self.pending.items()):
            response = self.get(url, f"GET {label.split()[0]} status")
            state = response.json().get("status") if response.status_code == 200 else None
            if state in ("succeeded", "partial", "failed"):
                del self.pending[label]
                events.request.fire(request_type="job", name=label, response_time=(time.perf_counter() - started)
                                    * 1000, response_length=0, context={},
                                    exception=None if state == "succeeded" else RuntimeError(f"job {state}"))
        if not self.pending:
            self.get("/api/v1/exports/jobs/", "GET export jobs")
