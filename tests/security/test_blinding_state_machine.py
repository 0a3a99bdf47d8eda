"""Blinding as a state machine (issue 8 item 2): hypothesis drives the central-review workflow — a case opens
when a site submits its F4 form, material arrives, two central pathologists claim, release, save an invalid
draft read, submit reads (concordant or not with the local read and each other), a data manager assigns,
reprioritises and adjudicates — and after every step both pathologists fetch every page and API response they
can reach (queue with filters and ordering, case page with the read form, history, API list/detail/history,
reads). Invariant: while a pathologist may still owe a blinded read on a case (case not yet in adjudication
or final) and has not submitted one, nothing they receive contains that case's local Ki-67, its local-read
fields, or another pathologist's read of it. Positive control: once they have submitted, the case detail does
show the local Ki-67 (so the search would find a leak).

Every example runs inside a savepoint rolled back at teardown; the personas come from tests/conftest.py."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework.utils.encoders import JSONEncoder

from registry.pathology.models import CaseStatus, CentralReview, ReviewCase
from tests.factories.pathology import read, ship_and_receive, submitted_specimen
from tests.factories.patients import PatientFactory

#: Distinct local Ki-67 values, one per opened case (none is a substring of another or of a central value).
LOCAL_KI67 = ("37.3", "42.9", "58.1", "64.7", "29.3", "46.1", "53.9", "33.7")
LOCAL_DX = ("NET_G3", "NEC_large_cell", "NEC_small_cell")
CENTRAL_DX = ("NEC_large_cell", "NET_G3", "NEC_small_cell")
#: Field names and labels of the local read (the form's own `blinded_to_local_diagnosis` is stripped first).
LOCAL_NAMES = ("local_diagnosis", "local_ki67", "ki67_percent", "local_differentiation", "Local diagnosis",
               "Local Ki-67")
BLINDABLE = {CaseStatus.AWAITING_MATERIAL, CaseStatus.READY, CaseStatus.IN_REVIEW, CaseStatus.SECOND_REVIEW}

STATS = {"examples": 0, "steps": 0, "responses_checked": 0, "blinded_checks": 0, "unblinded_controls": 0}


def central_ki67(case_no: int, reviewer_no: int, dx: str = "NEC") -> str:
    """Unique per case and reader; a NET G3 read gets a NET-like value (below 55 %)."""
    return f"{(31 if dx == 'NET_G3' else 88) - case_no}.{6 if reviewer_no == 1 else 2}"


def read_mark(case_no: int, reviewer_no: int) -> str:
    return f"READMARK-{case_no}-{reviewer_no}"


class BlindingMachine(RuleBasedStateMachine):
    users: dict = {}
    site = None

    cases = Bundle("cases")

    def __init__(self):
        super().__init__()
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.case_no: dict[int, int] = {}
        self.api = {}
        self.web = {}
        for name, user in self.users.items():
            api = APIClient()
            api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
            web = Client(raise_request_exception=True)
            web.force_login(user)
            self.api[name], self.web[name] = api, web
        STATS["examples"] += 1

    def teardown(self):
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    # --- workflow steps ----------------------------------------------------------------------------------

    @initialize(target=cases, dx=st.sampled_from(LOCAL_DX))
    def first_case(self, dx):
        """The first case starts in the queue (material received), so reads happen in short examples too."""
        pk = self._open(dx)
        ship_and_receive(ReviewCase.objects.get(pk=pk), receiver=self.users["dm"])
        return pk

    def _open(self, dx):
        number = len(self.case_no)
        form = submitted_specimen(PatientFactory(site=self.site), diagnosis=dx, ki67=LOCAL_KI67[number])
        case = ReviewCase.objects.get(specimen=form)
        self.case_no[case.pk] = number
        return case.pk

    @precondition(lambda self: len(self.case_no) < 4)
    @rule(target=cases, dx=st.sampled_from(LOCAL_DX))
    def open_case(self, dx):
        return self._open(dx)

    @rule(pk=cases)
    def receive_material(self, pk):
        case = ReviewCase.objects.get(pk=pk)
        if case.status == CaseStatus.AWAITING_MATERIAL:
            ship_and_receive(case, receiver=self.users["dm"])

    @rule(who=st.sampled_from(("patho1", "patho2")), pk=cases)
    def claim(self, who, pk):
        self._post(who, f"/api/v1/pathology/cases/{pk}/claim/", {})

    @rule(who=st.sampled_from(("patho1", "patho2")))
    def claim_next(self, who):
        self._post(who, "/api/v1/pathology/cases/claim-next/", {})

    @rule(who=st.sampled_from(("patho1", "patho2", "dm")), pk=cases)
    def release(self, who, pk):
        self._post(who, f"/api/v1/pathology/cases/{pk}/release/", {})

    @rule(reviewer=st.sampled_from(("patho1", "patho2")), pk=cases)
    def assign(self, reviewer, pk):
        self._post("dm", f"/api/v1/pathology/cases/{pk}/assign/", {"reviewer": self.users[reviewer].pk})

    @rule(pk=cases, priority=st.sampled_from((1, 2, 3)))
    def set_priority(self, pk, priority):
        self._post("dm", f"/api/v1/pathology/cases/{pk}/priority/", {"priority": priority})

    @rule(who=st.sampled_from(("patho1", "patho2")), pk=cases)
    def save_invalid_draft(self, who, pk):
        """The read form re-rendered with errors (400) is a page the reviewer sees before submitting."""
        response = self.web[who].post(f"/pathology/cases/{pk}/review/", {"central_diagnosis": "NEC_large_cell"})
        self._check_one(who, response.content.decode(), detail_of=pk)

    @rule(who=st.sampled_from(("patho1", "patho2")), pk=cases, dx=st.sampled_from(CENTRAL_DX))
    def submit_read(self, who, pk, dx):
        self._submit(who, pk, dx)

    @rule(who=st.sampled_from(("patho1", "patho2")), pk=cases, dx=st.sampled_from(CENTRAL_DX))
    def claim_and_submit(self, who, pk, dx):
        self._post(who, f"/api/v1/pathology/cases/{pk}/claim/", {})
        self._submit(who, pk, dx)

    def _submit(self, who, pk, dx):
        reviewer_no = 1 if who == "patho1" else 2
        ki67 = central_ki67(self.case_no[pk], reviewer_no, dx)
        data = read(central_diagnosis=dx, ki67_central_percent=Decimal(ki67),
                    comment=read_mark(self.case_no[pk], reviewer_no))
        status = self._post(who, f"/api/v1/pathology/cases/{pk}/reviews/", data)
        STATS[f"submit_{status}"] = STATS.get(f"submit_{status}", 0) + 1

    @rule(pk=cases)
    def adjudicate(self, pk):
        participants = [self.users["patho1"].pk, self.users["patho2"].pk]
        self._post("dm", f"/api/v1/pathology/cases/{pk}/adjudication/",
                   {"participants": participants, "final_diagnosis": "NEC_large", "final_ki67": "75.0",
                    "rationale": "Consensus at the multi-head microscope."})

    def _post(self, who, url, data):
        body = json.loads(json.dumps(data, cls=JSONEncoder))
        response = self.api[who].post(url, body, format="json")
        assert response.status_code < 500, (url, response.status_code)
        # A refused or conflicting step is part of the exploration; its body is reviewer-visible too.
        if who != "dm":
            self._check_one(who, response.content.decode(), detail_of=_case_in(url))
        return response.status_code

    # --- the invariant ----------------------------------------------------------------------------------

    @invariant()
    def nothing_leaks_to_a_blinded_reviewer(self):
        if not self.case_no:
            return
        STATS["steps"] += 1
        for who in ("patho1", "patho2"):
            api, web = self.api[who], self.web[who]
            lists = [("/api/v1/pathology/cases/", api), ("/api/v1/pathology/cases/?ordering=-study_id", api),
                     ("/api/v1/pathology/cases/?status=in_review&status=second_review&assigned=me", api),
                     ("/api/v1/pathology/reviews/", api), ("/pathology/", web),
                     ("/pathology/?ordering=status&status=ready&status=second_review", web)]
            for url, client in lists:
                self._check_one(who, _text(client.get(url)), detail_of=None)
            for pk in self.case_no:
                for url, client in ((f"/api/v1/pathology/cases/{pk}/", api),
                                    (f"/api/v1/pathology/cases/{pk}/history/", api),
                                    (f"/pathology/cases/{pk}/", web), (f"/pathology/cases/{pk}/history/", web)):
                    self._check_one(who, _text(client.get(url)), detail_of=pk)
                self._positive_control(who, pk)

    def _blinded_cases(self, who) -> dict[int, str]:
        """Cases on which `who` may still owe a blinded read and has not submitted one (the oracle, from the
        rows, independent of the selectors under test)."""
        user = self.users[who]
        statuses = dict(ReviewCase.objects.filter(pk__in=self.case_no).values_list("pk", "status"))
        submitted = set(CentralReview.objects.filter(case_id__in=self.case_no, reviewer=user)
                        .values_list("case_id", flat=True))
        return {pk: statuses[pk] for pk in self.case_no if statuses[pk] in BLINDABLE and pk not in submitted}

    def _check_one(self, who, text: str, *, detail_of: int | None):
        STATS["responses_checked"] += 1
        text = text.replace("blinded_to_local_diagnosis", "")
        other = 2 if who == "patho1" else 1
        for pk in self._blinded_cases(who):
            number = self.case_no[pk]
            STATS["blinded_checks"] += 1
            forbidden = [LOCAL_KI67[number], read_mark(number, other), central_ki67(number, other),
                         central_ki67(number, other, "NET_G3")]
            if detail_of == pk:
                forbidden += list(LOCAL_NAMES)
            for value in forbidden:
                assert not _contains(text, value), f"{value!r} of case #{number} reached blinded {who}"

    def _positive_control(self, who, pk):
        user = self.users[who]
        if not CentralReview.objects.filter(case_id=pk, reviewer=user).exists():
            return
        detail = self.api[who].get(f"/api/v1/pathology/cases/{pk}/").json()
        assert detail["blinded"] is False and detail["local"]["local_ki67"] == LOCAL_KI67[self.case_no[pk]]
        STATS["unblinded_controls"] += 1


def _contains(text: str, value: str) -> bool:
    """Whether `value` occurs in `text`; a number only as a number (not inside a timestamp like 18:16:29.21)."""
    if not value[0].isdigit():
        return value in text
    return re.search(rf"(?<![\d.:]){re.escape(value)}(?![1-9])", text) is not None


def _case_in(url: str) -> int | None:
    parts = url.rstrip("/").split("/")
    return int(parts[5]) if len(parts) > 5 and parts[5].isdigit() else None


def _text(response) -> str:
    assert response.status_code == 200, (response.status_code, getattr(response, "url", ""))
    return response.content.decode()


@pytest.mark.django_db
def test_no_reviewer_visible_response_unblinds_before_the_reviewer_submits(site_a, pathologist, pathologist_2,
                                                                          data_manager):
    BlindingMachine.users = {"patho1": pathologist, "patho2": pathologist_2, "dm": data_manager}
    BlindingMachine.site = site_a
    run_state_machine_as_test(BlindingMachine, settings=settings(
        max_examples=5, stateful_step_count=12, deadline=None, derandomize=True, database=None,
        suppress_health_check=list(HealthCheck)))
    print(f"blinding state machine: {STATS}")
    assert STATS["examples"] >= 5 and STATS["steps"] >= 25
    assert STATS["unblinded_controls"] > 0 and STATS["blinded_checks"] > 100
