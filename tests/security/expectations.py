"""Who may reach each URL pattern: the authorization matrix's registry (tests/security/test_authorization_matrix).

One entry per pattern of the URL conf (admin: one per registered model). A persona is let through a verb when
the response is 2xx/3xx or an input/state refusal (400/409/412/428); every verb not listed must be refused.
Lists a persona may open but that show it nothing (an outsider's empty dashboard) count as let through: what
they must not contain is checked separately (no other site's data). Role sets mirror registry/sites/scoping.py
and the apps' access modules; the comment on an entry says why it differs from its neighbours.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

C, I, M = "coordinator", "investigator", "monitor"  # noqa: E741 - I is the investigator
DM, P, S = "data_manager", "pathologist", "statistician"
OUT, ANON, SU = "outsider", "anonymous", "superuser"

SIGNED_IN = frozenset({C, I, M, DM, P, S, OUT, SU})
EVERYONE = SIGNED_IN | {ANON}
ENTRY = frozenset({C, I, SU})  # site coordinators and investigators enter data (superusers may do anything)
READERS = frozenset({C, I, M, DM, SU})  # scoping.CASEBOOK_READERS
QUEUE = frozenset({P, DM, SU})  # pathology.access.QUEUE_ROLES / COORDINATION
ANALYSTS = frozenset({DM, S, SU})
EXPORTERS = frozenset({C, I, M, DM, S, SU})
NOBODY: frozenset = frozenset()


@dataclass(frozen=True)
class Rule:
    methods: tuple[str, ...]
    allow: Mapping[str, frozenset[str]]
    #: The URL names a site-owned object: site-A personas are also sent to site B's object (expect 404).
    site_object: bool = True
    #: Personas whose outcome must only not be a server error (the admin for superusers: pages, read-only 403s).
    lenient: frozenset[str] = field(default_factory=frozenset)

    def verbs_for(self, persona: str) -> frozenset[str]:
        return self.allow.get(persona, frozenset())


def rule(methods: str = "GET", *, site_object: bool = True, lenient: Iterable[str] = (),
         **verbs: Iterable[str]) -> Rule:
    """rule("GET HEAD POST", GET=READERS, POST=ENTRY): HEAD goes with GET unless given (HEAD=NOBODY: the
    view refuses HEAD with 405 after the login check); `methods`
    lists the verbs the view answers, which the matrix exercises (DRF views: their handlers)."""
    allow: dict[str, set[str]] = {}
    for verb, personas in verbs.items():
        for persona in personas:
            allow.setdefault(persona, set()).add(verb)
            if verb == "GET" and "HEAD" in methods.split() and "HEAD" not in verbs:
                allow[persona].add("HEAD")
    return Rule(methods=tuple(methods.split()), allow={k: frozenset(v) for k, v in allow.items()},
                site_object=site_object, lenient=frozenset(lenient))


ALL_VERBS = "GET HEAD POST PUT PATCH DELETE"

ADMIN_MODELS = frozenset({
    "analysis/analysisdefinition", "analysis/analysisrun", "analysis/analysissettings", "auth/group", "auth/user",
    "authtoken/tokenproxy", "axes/accessattempt", "axes/accessfailurelog", "axes/accesslog", "crfs/baseline",
    "crfs/drug", "crfs/editcheckfinding", "crfs/enrolment", "crfs/followup", "crfs/labresult", "crfs/localpathology",
    "crfs/othertreatment", "crfs/regimen", "crfs/responseevaluation", "crfs/systemictreatmentstatus",
    "crfs/treatmentline", "crfs/tumourstaging", "django_celery_beat/clockedschedule",
    "django_celery_beat/crontabschedule", "django_celery_beat/intervalschedule", "django_celery_beat/periodictask",
    "django_celery_beat/solarschedule", "django_celery_results/groupresult", "django_celery_results/taskresult",
    "exports/exportjob", "exports/exportrelease", "exports/redcaptoken", "otp_totp/totpdevice",
    "pathology/adjudication", "pathology/centralreview", "pathology/finalclassification", "pathology/notification",
    "pathology/reviewcase", "pathology/shipment", "patients/patient", "patients/studyidcounter", "pghistory/events",
    "queries/casebooksignature", "queries/datafreeze", "queries/dataquery", "queries/fieldverification",
    "sites/site", "sites/sitemembership",
})

#: Every admin page: the admin login page is public; everything else is for staff only (no persona but the
#: superuser is staff), and what the superuser gets (a page, a read-only 403, a 404 for a missing row) only
#: has to be no server error.
ADMIN_LOGIN = rule("GET POST", GET=EVERYONE, POST=EVERYONE, site_object=False)
ADMIN_PAGE = rule("GET POST", site_object=False, lenient={SU})


#: The admin's logout signs anyone out and redirects (no data): anything but a server error.
ADMIN_LOGOUT = rule("GET POST", site_object=False, lenient=EVERYONE)


def admin_rule(route: str) -> Rule:
    return {"admin/login/": ADMIN_LOGIN, "admin/logout/": ADMIN_LOGOUT}.get(route, ADMIN_PAGE)


EXPECT: dict[str, Rule] = {
    "": rule("GET HEAD POST PUT PATCH DELETE", GET=SIGNED_IN, POST=SIGNED_IN, PUT=SIGNED_IN, PATCH=SIGNED_IN,
             DELETE=SIGNED_IN),
    "health": rule("GET", GET=EVERYONE),
    "accounts/login/": rule("GET POST PUT", GET=EVERYONE, POST=EVERYONE, PUT=EVERYONE),
    "accounts/logout/": rule("POST"),
    "accounts/password/": rule("GET POST PUT", GET=SIGNED_IN, POST=SIGNED_IN, PUT=SIGNED_IN),
    "accounts/password/done/": rule("GET", GET=SIGNED_IN),
    "accounts/2fa/setup/": rule("GET HEAD POST PUT PATCH DELETE", GET=SIGNED_IN, POST=SIGNED_IN, PUT=SIGNED_IN,
                                PATCH=SIGNED_IN, DELETE=SIGNED_IN),
    "accounts/2fa/verify/": rule("GET HEAD POST PUT PATCH DELETE", GET=SIGNED_IN, POST=SIGNED_IN, PUT=SIGNED_IN,
                                 PATCH=SIGNED_IN, DELETE=SIGNED_IN),
    "patients/": rule("GET HEAD POST PUT PATCH DELETE", GET=READERS, HEAD=NOBODY),
    "patients/enrol/": rule("GET HEAD POST PUT PATCH DELETE", GET=ENTRY, HEAD=NOBODY, POST=ENTRY),
    "patients/<int:patient_id>/": rule("GET HEAD POST PUT PATCH DELETE", GET=READERS, HEAD=NOBODY),
    "patients/<int:patient_id>/<str:family_code>/new/": rule("GET HEAD POST PUT PATCH DELETE", GET=ENTRY,
                                                             HEAD=NOBODY, POST=ENTRY),
    "patients/<int:patient_id>/<str:family_code>/new/validate/": rule("GET HEAD POST PUT PATCH DELETE", POST=READERS),
    "patients/<int:patient_id>/<str:family_code>/<int:pk>/": rule("GET HEAD POST PUT PATCH DELETE", GET=READERS,
                                                                  HEAD=NOBODY, POST=READERS),
    "patients/<int:patient_id>/<str:family_code>/<int:pk>/validate/": rule("GET HEAD POST PUT PATCH DELETE",
                                                                           POST=READERS),
    "patients/<int:patient_id>/<str:family_code>/<int:pk>/workflow/": rule("GET HEAD POST PUT PATCH DELETE",
                                                                           POST=READERS),
    "patients/<int:patient_id>/<str:family_code>/<int:pk>/history/": rule("GET HEAD POST PUT PATCH DELETE",
                                                                          GET=READERS, HEAD=NOBODY),
    "pathology/": rule("GET", GET=QUEUE),
    "pathology/claim-next/": rule("POST", POST=SIGNED_IN),
    "pathology/cases/<int:pk>/": rule("GET", GET=QUEUE),
    "pathology/cases/<int:pk>/history/": rule("GET", GET=QUEUE),
    "pathology/cases/<int:pk>/claim/": rule("POST", POST=QUEUE),
    "pathology/cases/<int:pk>/release/": rule("POST", POST=QUEUE),
    "pathology/cases/<int:pk>/assign/": rule("POST", POST=QUEUE),
    "pathology/cases/<int:pk>/priority/": rule("POST", POST=QUEUE),
    "pathology/cases/<int:pk>/review/": rule("POST", POST=QUEUE),
    "pathology/cases/<int:pk>/adjudicate/": rule("POST", POST=QUEUE),
    "pathology/material/": rule("GET", GET={C, DM, I, M, P, SU}),
    "pathology/material/specimens/<int:specimen_pk>/ship/": rule("POST", POST=ENTRY),
    "pathology/material/shipments/<int:pk>/receive/": rule("POST", POST={C, DM, I, M, P, SU}),
    "pathology/material/shipments/<int:pk>/return-blocks/": rule("POST", POST={C, DM, I, M, P, SU}),
    "pathology/notifications/": rule("GET", GET=READERS),
    "pathology/notifications/<int:pk>/read/": rule("POST", POST=READERS),
    "pathology/agreement/": rule("GET", GET={DM, SU}),
    "queries/": rule("GET", GET=READERS),
    "queries/export.csv": rule("GET", GET=READERS),
    "queries/<int:pk>/": rule("GET", GET=READERS),
    "queries/<int:pk>/answer/": rule("POST", POST=READERS),
    "queries/<int:pk>/close/": rule("POST", POST=READERS),
    "queries/<int:pk>/reopen/": rule("POST", POST=READERS),
    "queries/<int:pk>/comment/": rule("POST", POST=READERS),
    "queries/worklist/": rule("GET", GET=READERS),
    "queries/dashboard/": rule("GET", GET={DM, M, SU}),
    "queries/dashboard.csv": rule("GET", GET={DM, M, SU}),
    "queries/patients/<int:pk>/": rule("GET", GET=READERS),
    "queries/patients/<int:pk>/lock/": rule("POST", POST=READERS),
    "queries/patients/<int:pk>/sign/": rule("POST", POST=READERS),
    "queries/forms/<str:family_code>/<int:pk>/": rule("GET", GET=READERS),
    "queries/forms/<str:family_code>/<int:pk>/verify/": rule("POST", POST=READERS),
    "queries/forms/<str:family_code>/<int:pk>/raise/": rule("GET POST", GET={DM, M, SU}, POST={DM, M, SU}),
    "queries/freezes/": rule("GET POST", GET=READERS),
    "exports/": rule("GET", GET=EXPORTERS),
    "exports/new/": rule("GET POST", GET=EXPORTERS, POST=EXPORTERS),
    "exports/<int:pk>/": rule("GET", GET={C}),
    "exports/<int:pk>/progress/": rule("GET", GET={C}),
    "exports/<int:pk>/download/": rule("GET"),
    "exports/tokens/": rule("POST", POST=EXPORTERS),
    "exports/tokens/<int:pk>/revoke/": rule("POST", POST={C}),
    "redcap/api/": rule("GET HEAD POST PUT PATCH DELETE", POST=EXPORTERS),
    "analysis/": rule("GET", GET=ANALYSTS),
    "analysis/recompute/": rule("POST", POST={DM, SU}),
    "analysis/runs/": rule("GET", GET=ANALYSTS),
    "analysis/runs/<int:pk>/": rule("GET", GET=ANALYSTS, site_object=False),
    "analysis/runs/<int:pk>/progress/": rule("GET", GET=ANALYSTS, site_object=False),
    "analysis/figures/<int:pk>.<str:fmt>": rule("GET", GET=ANALYSTS, site_object=False),
    "analysis/report/": rule("GET", GET=ANALYSTS),
    "analysis/report.pdf": rule("GET", GET=ANALYSTS),
    "api/v1/sites/": rule("GET", GET=SIGNED_IN),
    "api/v1/sites/<int:pk>/": rule("GET", GET={C, DM, I, M, P, S, SU}),
    "api/v1/me/memberships/": rule("GET", GET=SIGNED_IN),
    "api/v1/patients/": rule("GET POST", GET=SIGNED_IN, POST=SIGNED_IN),
    "api/v1/patients/<int:pk>/": rule("GET", GET=READERS),
    "api/v1/patients/<int:pk>/withdraw/": rule("POST", POST=READERS),
    "api/v1/patients/<int:patient_id>/enrolment/": rule("GET POST PUT PATCH", GET=READERS, POST=ENTRY, PUT=ENTRY,
                                                        PATCH=ENTRY),
    "api/v1/patients/<int:patient_id>/enrolment/submit/": rule("POST", POST=ENTRY),
    "api/v1/patients/<int:patient_id>/enrolment/verify/": rule("POST", POST={M, SU}),
    "api/v1/patients/<int:patient_id>/enrolment/lock/": rule("POST", POST={DM, SU}),
    "api/v1/patients/<int:patient_id>/enrolment/unlock/": rule("POST", POST={DM, SU}),
    "api/v1/patients/<int:patient_id>/baseline/": rule("GET POST PUT PATCH", GET=READERS, POST=ENTRY, PUT=ENTRY,
                                                       PATCH=ENTRY),
    "api/v1/patients/<int:patient_id>/baseline/submit/": rule("POST", POST=ENTRY),
    "api/v1/patients/<int:patient_id>/baseline/verify/": rule("POST", POST={M, SU}),
    "api/v1/patients/<int:patient_id>/baseline/lock/": rule("POST", POST={DM, SU}),
    "api/v1/patients/<int:patient_id>/baseline/unlock/": rule("POST", POST={DM, SU}),
    "api/v1/patients/<int:patient_id>/tumour/": rule("GET POST PUT PATCH", GET=READERS, POST=ENTRY, PUT=ENTRY,
                                                     PATCH=ENTRY),
    "api/v1/patients/<int:patient_id>/tumour/submit/": rule("POST", POST=ENTRY),
    "api/v1/patients/<int:patient_id>/tumour/verify/": rule("POST", POST={M, SU}),
    "api/v1/patients/<int:patient_id>/tumour/lock/": rule("POST", POST={DM, SU}),
    "api/v1/patients/<int:patient_id>/tumour/unlock/": rule("POST", POST={DM, SU}),
    "api/v1/patients/<int:patient_id>/pathology/": rule("GET POST", GET=READERS, POST=ENTRY),
    "api/v1/patients/<int:patient_id>/pathology/<int:pk>/": rule("GET PUT PATCH DELETE", GET=READERS, PUT=ENTRY,
                                                                 PATCH=ENTRY, DELETE=ENTRY),
    "api/v1/patients/<int:patient_id>/pathology/<int:pk>/submit/": rule("POST", POST=ENTRY),
    "api/v1/patients/<int:patient_id>/pathology/<int:pk>/verify/": rule("POST", POST={M, SU}),
    "api/v1/patients/<int:patient_id>/pathology/<int:pk>/lock/": rule("POST", POST={DM, SU}),
    "api/v1/patients/<int:patient_id>/pathology/<int:pk>/unlock/": rule("POST", POST={DM, SU}),
    "api/v1/patients/<int:patient_id>/labs/": rule("GET POST", GET=READERS, POST=ENTRY),
    "api/v1/patients/<int:patient_id>/labs/<int:pk>/": rule("GET PUT PATCH DELETE", GET=READERS, PUT=ENTRY,
                                                            PATCH=ENTRY, DELETE=ENTRY),
    "api/v1/patients/<int:patient_id>/labs/<int:pk>/submit/": rule("POST", POST=ENTRY),
    "api/v1/patients/<int:patient_id>/labs/<int:pk>/verify/": rule("POST", POST={M, SU}),
    "api/v1/patients/<int:patient_id>/labs/<int:pk>/lock/": rule("POST", POST={DM, SU}),
    "api/v1/patients/<int:patient_id>/labs/<int:pk>/unlock/": rule("POST", POST={DM, SU}),
    "api/v1/patients/<int:patient_id>/treatment/": rule("GET POST", GET=READERS, POST=ENTRY),
    "api/v1/patients/<int:patient_id>/treatment/<int:pk>/": rule("GET PUT PATCH DELETE", GET=READERS, PUT=ENTRY,
                                                                 PATCH=ENTRY, DELETE=ENTRY),
    "api/v1/patients/<int:patient_id>/treatment/<int:pk>/submit/": rule("POST", POST=ENTRY),
    "api/v1/patients/<int:patient_id>/treatment/<int:pk>/verify/": rule("POST", POST={M, SU}),
    "api/v1/patients/<int:patient_id>/treatment/<int:pk>/lock/": rule("POST", POST={DM, SU}),
    "api/v1/patients/<int:patient_id>/treatment/<int:pk>/unlock/": rule("POST", POST={DM, SU}),
    "api/v1/patients/<int:patient_id>/other_treatment/": rule("GET POST", GET=READERS, POST=ENTRY),
    "api/v1/patients/<int:patient_id>/other_treatment/<int:pk>/": rule("GET PUT PATCH DELETE", GET=READERS,
                                                                       PUT=ENTRY, PATCH=ENTRY, DELETE=ENTRY),
    "api/v1/patients/<int:patient_id>/other_treatment/<int:pk>/submit/": rule("POST", POST=ENTRY),
    "api/v1/patients/<int:patient_id>/other_treatment/<int:pk>/verify/": rule("POST", POST={M, SU}),
    "api/v1/patients/<int:patient_id>/other_treatment/<int:pk>/lock/": rule("POST", POST={DM, SU}),
    "api/v1/patients/<int:patient_id>/other_treatment/<int:pk>/unlock/": rule("POST", POST={DM, SU}),
    "api/v1/patients/<int:patient_id>/treatment_status/": rule("GET POST PUT PATCH", GET=READERS, POST=ENTRY,
                                                               PUT=ENTRY, PATCH=ENTRY),
    "api/v1/patients/<int:patient_id>/treatment_status/submit/": rule("POST", POST=ENTRY),
    "api/v1/patients/<int:patient_id>/treatment_status/verify/": rule("POST", POST={M, SU}),
    "api/v1/patients/<int:patient_id>/treatment_status/lock/": rule("POST", POST={DM, SU}),
    "api/v1/patients/<int:patient_id>/treatment_status/unlock/": rule("POST", POST={DM, SU}),
    "api/v1/patients/<int:patient_id>/treatment/<int:line_id>/response/": rule("GET POST", GET=READERS, POST=ENTRY),
    "api/v1/patients/<int:patient_id>/treatment/<int:line_id>/response/<int:pk>/": rule("GET PUT PATCH DELETE",
        GET=READERS, PUT=ENTRY, PATCH=ENTRY, DELETE=ENTRY),
    "api/v1/patients/<int:patient_id>/treatment/<int:line_id>/response/<int:pk>/submit/": rule("POST", POST=ENTRY),
    "api/v1/patients/<int:patient_id>/treatment/<int:line_id>/response/<int:pk>/verify/": rule("POST", POST={M, SU}),
    "api/v1/patients/<int:patient_id>/treatment/<int:line_id>/response/<int:pk>/lock/": rule("POST", POST={DM, SU}),
    "api/v1/patients/<int:patient_id>/treatment/<int:line_id>/response/<int:pk>/unlock/": rule("POST", POST={DM, SU}),
    "api/v1/patients/<int:patient_id>/followup/": rule("GET POST", GET=READERS, POST=ENTRY),
    "api/v1/patients/<int:patient_id>/followup/<int:pk>/": rule("GET PUT PATCH DELETE", GET=READERS, PUT=ENTRY,
                                                                PATCH=ENTRY, DELETE=ENTRY),
    "api/v1/patients/<int:patient_id>/followup/<int:pk>/submit/": rule("POST", POST=ENTRY),
    "api/v1/patients/<int:patient_id>/followup/<int:pk>/verify/": rule("POST", POST={M, SU}),
    "api/v1/patients/<int:patient_id>/followup/<int:pk>/lock/": rule("POST", POST={DM, SU}),
    "api/v1/patients/<int:patient_id>/followup/<int:pk>/unlock/": rule("POST", POST={DM, SU}),
    "api/v1/regimens/": rule("GET", GET=SIGNED_IN),
    "api/v1/findings/": rule("GET", GET=SIGNED_IN),
    "api/v1/pathology/cases/": rule("GET", GET=SIGNED_IN),
    "api/v1/pathology/cases/claim-next/": rule("POST", POST={P, SU}),
    "api/v1/pathology/cases/<int:pk>/": rule("GET", GET=QUEUE),
    "api/v1/pathology/cases/<int:pk>/history/": rule("GET", GET=QUEUE),
    "api/v1/pathology/cases/<int:pk>/claim/": rule("POST", POST={P, SU}),
    "api/v1/pathology/cases/<int:pk>/release/": rule("POST", POST=QUEUE),
    "api/v1/pathology/cases/<int:pk>/assign/": rule("POST", POST=QUEUE),
    "api/v1/pathology/cases/<int:pk>/priority/": rule("POST", POST=QUEUE),
    "api/v1/pathology/cases/<int:pk>/reviews/": rule("POST", POST=QUEUE),
    "api/v1/pathology/cases/<int:pk>/adjudication/": rule("POST", POST=QUEUE),
    "api/v1/pathology/reviews/": rule("GET", GET=SIGNED_IN),
    "api/v1/pathology/shipments/": rule("GET POST", GET=SIGNED_IN, POST=SIGNED_IN),
    "api/v1/pathology/shipments/<int:pk>/receive/": rule("POST", POST={C, DM, I, M, P, SU}),
    "api/v1/pathology/shipments/<int:pk>/return-blocks/": rule("POST", POST={C, DM, I, M, P, SU}),
    "api/v1/pathology/outstanding/": rule("GET", GET=SIGNED_IN),
    "api/v1/pathology/notifications/": rule("GET", GET=SIGNED_IN),
    "api/v1/pathology/notifications/<int:pk>/read/": rule("POST", POST=READERS),
    "api/v1/pathology/agreement/": rule("GET", GET={DM, SU}),
    "api/v1/queries/": rule("GET POST", GET=SIGNED_IN, POST=SIGNED_IN),
    "api/v1/queries/<int:pk>/": rule("GET", GET=READERS),
    "api/v1/queries/<int:pk>/messages/": rule("GET POST", GET=READERS, POST=READERS),
    "api/v1/queries/<int:pk>/answer/": rule("POST", POST=SIGNED_IN),
    "api/v1/queries/<int:pk>/close/": rule("POST", POST={DM, M, SU}),
    "api/v1/queries/<int:pk>/reopen/": rule("POST", POST={DM, M, SU}),
    "api/v1/queries/worklist/": rule("GET", GET=SIGNED_IN),
    "api/v1/queries/dashboard/": rule("GET", GET={DM, M, SU}),
    "api/v1/queries/sdv/": rule("GET POST", GET=SIGNED_IN, POST=SIGNED_IN),
    "api/v1/queries/sdv/<int:pk>/withdraw/": rule("POST", POST=SIGNED_IN),
    "api/v1/queries/sdv/forms/": rule("POST", POST=SIGNED_IN),
    "api/v1/queries/freezes/": rule("GET", GET=SIGNED_IN),
    "api/v1/queries/patients/<int:pk>/lock/": rule("POST", POST=SIGNED_IN),
    "api/v1/queries/patients/<int:pk>/unlock/": rule("POST", POST=SIGNED_IN),
    "api/v1/queries/sites/<int:pk>/freeze/": rule("POST", POST=SIGNED_IN),
    "api/v1/queries/sites/<int:pk>/unfreeze/": rule("POST", POST=SIGNED_IN),
    "api/v1/queries/signatures/": rule("GET POST", GET=SIGNED_IN, POST=SIGNED_IN),
    "api/v1/exports/jobs/": rule("GET POST", GET=SIGNED_IN, POST=SIGNED_IN),
    "api/v1/exports/jobs/<int:pk>/": rule("GET", GET={C}),
    "api/v1/exports/jobs/<int:pk>/download/": rule("GET"),
    "api/v1/analysis/definitions/": rule("GET POST", GET=ANALYSTS, POST=ANALYSTS),
    "api/v1/analysis/definitions/<slug:code>/": rule("GET PATCH DELETE", GET=ANALYSTS, PATCH={DM, SU}, DELETE={DM,
                                                     SU}, site_object=False),
    "api/v1/analysis/runs/": rule("GET POST", GET=ANALYSTS, POST={DM, SU}),
    "api/v1/analysis/runs/<int:pk>/": rule("GET", GET=ANALYSTS, site_object=False),
    "api/v1/analysis/results/latest/": rule("GET", GET=ANALYSTS),
    "api/v1/analysis/settings/": rule("GET PATCH", GET=ANALYSTS, PATCH={DM, SU}),
    "api/schema/": rule("GET", GET=EVERYONE),
    "api/docs/": rule("GET", GET=EVERYONE),
}
