"""Writes synthetic-cohort plans into the registry through the same services site staff use (patient_enrol,
form_create, form_update, form_submit; form_verify by the monitor; form_lock by the data manager), so every
demo form has passed the edit checks it would have met in real data entry.

One transaction per patient: a patient is either fully entered or not at all.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction

from registry.crfs.demo import model as m
from registry.crfs.demo.generator import PatientPlan, generate_plans
from registry.crfs.models import FormStatus, Regimen
from registry.crfs.services import form_create, form_lock, form_submit, form_update, form_verify, patient_enrol
from registry.patients.models import Patient
from registry.sites.models import Role, Site, SiteMembership


@dataclass
class DemoStaff:
    """Who enters, verifies and locks the demo data at each site."""

    coordinators: dict[str, object]  # site code → user
    monitors: dict[str, object]  # site code → user (sites without a monitor get no SDV)
    data_manager: object | None
    created: list[str] = field(default_factory=list)  # usernames created for sites that had no coordinator


@dataclass
class LoadReport:
    patients: int = 0
    forms: int = 0
    seconds: float = 0.0
    statuses: Counter = field(default_factory=Counter)
    study_ids: dict[int, str] = field(default_factory=dict)  # plan index → study id


def demo_staff(site_codes: Iterable[str]) -> DemoStaff:
    """The coordinator, monitor and data manager of each demo site; a coordinator is created where missing
    (`coordinator.<site>`, demo password as for the other demo coordinators)."""
    from registry.sites.demo import demo_password

    sites = {s.code: s for s in Site.objects.filter(code__in=list(site_codes))}
    memberships = list(SiteMembership.objects.filter(
        role__in=[Role.SITE_COORDINATOR, Role.MONITOR, Role.DATA_MANAGER]).select_related("user", "site")
        .order_by("user__username"))
    coordinators, monitors, data_manager, created = {}, {}, None, []
    for ms in memberships:
        if ms.role == Role.SITE_COORDINATOR and ms.site_id:
            coordinators.setdefault(ms.site.code, ms.user)
        elif ms.role == Role.MONITOR and ms.site_id:
            monitors.setdefault(ms.site.code, ms.user)
        elif ms.role == Role.DATA_MANAGER and ms.site_id is None and data_manager is None:
            data_manager = ms.user
    User = get_user_model()
    for code, site in sites.items():
        if code in coordinators:
            continue
        username = f"coordinator.{code.lower()}"
        user, new = User.objects.get_or_create(username=username, defaults={"email": f"{username}@localhost"})
        if new:
            user.set_password(demo_password(username))
            user.save(update_fields=["password"])
            created.append(username)
        SiteMembership.objects.get_or_create(user=user, site=site, role=Role.SITE_COORDINATOR)
        coordinators[code] = user
    return DemoStaff(coordinators, monitors, data_manager, created)


def load_patient(plan: PatientPlan, *, site: Site, staff: DemoStaff, regimens: dict[str, Regimen],
                 report: LoadReport) -> Patient:
    """Enter one patient's plan: create (and update) the forms in order, then submit, verify and lock."""
    user = staff.coordinators[site.code]
    monitor, manager = staff.monitors.get(site.code), staff.data_manager
    with transaction.atomic():
        patient, enrolment = patient_enrol(site=site, user=user, data=plan.forms[0].data)
        entered = [(plan.forms[0], enrolment)]
        by_key: dict[str, int] = {}  # plan key → position in `entered`
        for fp in plan.forms[1:]:
            if fp.op == "update":
                position = by_key[fp.key]
                current = entered[position][1]
                updated = form_update(current, data=fp.data, user=user, expected_version=current.version)
                entered[position] = (entered[position][0], updated)
                continue
            data = dict(fp.data)
            if fp.parent:
                data["line"] = entered[by_key[fp.parent]][1]
            if "regimen" in data:
                data["regimen"] = regimens[data["regimen"]]
            form = form_create(patient=patient, family_code=fp.family, data=data, user=user)
            if fp.key:
                by_key[fp.key] = len(entered)
            entered.append((fp, form))
        for fp, form in entered:
            status = fp.status
            if status != FormStatus.DRAFT:
                form = form_submit(form, user=user, expected_version=form.version)
            if status in (FormStatus.VERIFIED, FormStatus.LOCKED) and monitor is not None:
                form = form_verify(form, user=monitor, expected_version=form.version)
            if status == FormStatus.LOCKED and manager is not None:
                form = form_lock(form, user=manager, expected_version=form.version)
            report.statuses[form.status] += 1
            report.forms += 1
    report.patients += 1
    report.study_ids[plan.index] = patient.study_id
    return patient


def load_plans(plans: list[PatientPlan], *, stdout=None, progress_every: int = 100) -> LoadReport:
    """Enter every plan (in order) as the demo site staff; returns counts and the time taken."""
    codes = sorted({p.site for p in plans})
    sites = {s.code: s for s in Site.objects.filter(code__in=codes)}
    missing = set(codes) - set(sites)
    if missing:
        raise RuntimeError(f"Demo sites missing: {', '.join(sorted(missing))} (run seed_demo first).")
    staff = demo_staff(codes)
    if stdout is not None and staff.created:
        stdout.write(f"  Created site coordinators {', '.join(staff.created)} for the demo cohort (demo "
                     "password pattern as for the other coordinators).")
    regimens = {r.code: r for r in Regimen.objects.all()}
    report = LoadReport()
    started = time.perf_counter()
    for done, plan in enumerate(plans, start=1):
        load_patient(plan, site=sites[plan.site], staff=staff, regimens=regimens, report=report)
        if stdout is not None and progress_every and done % progress_every == 0:
            stdout.write(f"  … {done}/{len(plans)} patients ({time.perf_counter() - started:.0f} s)")
    report.seconds = time.perf_counter() - started
    return report


def plans_still_to_load(plans: list[PatientPlan]) -> list[PatientPlan]:
    """Plans not yet entered. Patients are entered in plan order, one transaction each, and each site's study
    ids are sequential, so the first k plans of a site with k patients are already in: an interrupted load
    (Ctrl-C during `make run`) resumes where it stopped."""
    from django.db.models import Count

    existing = dict(Patient.objects.filter(site__code__in=list(m.SITE_WEIGHTS))
                    .values_list("site__code").annotate(n=Count("id")))
    seen: Counter = Counter()
    remaining = []
    for plan in plans:
        seen[plan.site] += 1
        if seen[plan.site] > existing.get(plan.site, 0):
            remaining.append(plan)
    return remaining


def load_demo_cohort(stdout) -> None:
    """DEMO_LOADERS step: the default 639-patient cohort; resumes an interrupted load, no-op when complete."""
    plans = generate_plans(m.DEFAULT_PATIENTS, seed=m.DEFAULT_SEED)
    remaining = plans_still_to_load(plans)
    if not remaining:
        stdout.write("Demo cohort: all demo patients already present; nothing loaded.")
        return
    stdout.write(f"Demo cohort: entering {len(remaining)} of {len(plans)} synthetic patients through the CRF "
                 f"services (seed {m.DEFAULT_SEED}, data cut-off {m.DATA_CUTOFF}) …")
    report = load_plans(remaining, stdout=stdout)
    summary = ", ".join(f"{n} {s}" for s, n in sorted(report.statuses.items()))
    stdout.write(f"Demo cohort: {report.patients} patients, {report.forms} forms ({summary}) "
                 f"in {report.seconds:.0f} s.")


def demo_patients_exist() -> bool:
    return Patient.objects.filter(site__code__in=list(m.SITE_WEIGHTS)).exists()
