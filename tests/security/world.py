"""A two-site registry for the authorization matrix, built once per module through the factories and services:
the conftest personas (same roles and usernames), one of every object a URL can name at site A (OUS) and at
site B (AUH), URL walking over the resolver, URL-kwarg filling, and a fingerprint of site B's rows."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver

from registry.sites.models import Country, Role
from registry.sites.scoping import SiteScopedQuerySet
from tests.factories.crfs import OtherTreatmentFactory, complete_casebook
from tests.factories.exports import RedcapTokenFactory
from tests.factories.sites import SiteFactory, UserFactory, member

#: Strings that only site B's data contains; a site A user must never receive one (see `markers`).
SECRET_B = "AUH-SECRET-QUERY-TEXT"
SECRET_A = "OUS-SECRET-QUERY-TEXT"

SITE_PERSONAS = ("coordinator", "investigator", "monitor")
PERSONAS = (*SITE_PERSONAS, "data_manager", "pathologist", "statistician", "outsider", "anonymous", "superuser")


def walk(resolver=None, prefix: str = "", namespace: str = ""):
    """(route, name, callback) for every URL pattern, recursively, in the resolver's order."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            ns = ":".join(filter(None, [namespace, pattern.namespace or ""]))
            yield from walk(pattern, prefix + str(pattern.pattern), ns)
        elif isinstance(pattern, URLPattern):
            name = ":".join(filter(None, [namespace, pattern.name or ""]))
            yield prefix + str(pattern.pattern), name, pattern.callback


@dataclass
class SiteObjects:
    site: object
    forms: dict
    case: object = None
    specimen: object = None
    shipment: object = None
    notification: object = None
    query: object = None
    verification: object = None
    job: object = None
    token: object = None
    extra: dict = field(default_factory=dict)


def site_objects(site, coordinator, monitor, pathologist, pathologist_2, exporter, query_text: str) -> SiteObjects:
    from registry.exports.services import export_job_create
    from registry.pathology.models import Notification
    from registry.queries.services import sdv_verify_fields
    from tests.factories.pathology import claim_and_read, ready_case
    from tests.factories.queries import manual_query

    forms = complete_casebook(site=site, user=coordinator)
    forms["other_treatment"] = OtherTreatmentFactory(patient=forms["patient"], user=coordinator)
    objs = SiteObjects(site=site, forms=forms)
    objs.case = ready_case(site=site, receiver=pathologist)
    objs.specimen = objs.case.specimen
    objs.shipment = objs.specimen.shipments.first()
    finished = ready_case(site=site, receiver=pathologist)
    claim_and_read(finished, pathologist)
    finished.refresh_from_db()
    claim_and_read(finished, pathologist_2)
    objs.notification = Notification.objects.filter(site=site).first()
    objs.query = manual_query(objs.specimen, user=monitor, text=query_text)
    objs.verification = sdv_verify_fields(form=objs.specimen, fields=["ki67_percent"], user=monitor)[0]
    objs.job = export_job_create(user=exporter, shape="long", fmt="csv", site_ids=[site.pk])
    objs.token = RedcapTokenFactory(user=exporter, label=f"token {site.code}")
    return objs


@dataclass
class World:
    users: dict
    a: SiteObjects
    b: SiteObjects
    run: object
    figure: object
    redcap_tokens: dict

    def markers_of_b(self) -> list[str]:
        """Values that identify site B's data in any response body."""
        return [self.b.forms["patient"].study_id, self.b.case.patient.study_id, SECRET_B]

    def markers_of_a(self) -> list[str]:
        return [self.a.forms["patient"].study_id, self.a.case.patient.study_id, SECRET_A]


def build_world() -> World:
    from analysis import services as analysis_services
    from analysis.models import AnalysisDefinition, AnalysisFigure
    from tests.factories.analysis import cohort

    site_a = SiteFactory(code="OUS", name="Oslo University Hospital", country=Country.NORWAY)
    site_b = SiteFactory(code="AUH", name="Aarhus University Hospital", country=Country.DENMARK)
    users = {
        "coordinator": member(Role.SITE_COORDINATOR, site_a, "coord_a"),
        "investigator": member(Role.SITE_INVESTIGATOR, site_a, "inv_a"),
        "monitor": member(Role.MONITOR, site_a, "monitor_a"),
        "data_manager": member(Role.DATA_MANAGER, None, "dm"),
        "pathologist": member(Role.CENTRAL_PATHOLOGIST, None, "patho1"),
        "statistician": member(Role.STATISTICIAN, None, "stat"),
        "outsider": UserFactory(username="outsider"),
        "superuser": UserFactory(username="root", is_superuser=True, is_staff=True),
    }
    patho2 = member(Role.CENTRAL_PATHOLOGIST, None, "patho2")
    coord_b = member(Role.SITE_COORDINATOR, site_b, "coord_b")
    monitor_b = member(Role.MONITOR, site_b, "monitor_b")
    a = site_objects(site_a, users["coordinator"], users["monitor"], users["pathologist"], patho2,
                      users["coordinator"], SECRET_A)
    b = site_objects(site_b, coord_b, monitor_b, users["pathologist"], patho2, coord_b, SECRET_B)
    cohort(site_a, n_nec=5, n_net=5, user=users["coordinator"])  # enough patients for a Kaplan-Meier figure
    AnalysisDefinition.objects.exclude(code__in=("flow", "km-os-group")).update(enabled=False)
    run = analysis_services.analysis_run_execute(analysis_services.analysis_tick().pk)
    figure = AnalysisFigure.objects.filter(result__run=run).order_by("pk").first()
    tokens = {name: RedcapTokenFactory(user=user, label=name).token for name, user in users.items()
              if name in ("coordinator", "investigator", "monitor", "data_manager", "statistician", "superuser")}
    return World(users=users, a=a, b=b, run=run, figure=figure, redcap_tokens=tokens)


# --- URL kwargs ------------------------------------------------------------------------------------------

PARAM = re.compile(r"<(?:(\w+):)?(\w+)>|\(\?P<(\w+)>[^)]*\)")
_API_FORM = re.compile(r"^api/v1/patients/<int:patient_id>/(?:treatment/<int:line_id>/)?(\w+)/")


def _admin_object_id(route: str) -> str:
    app_label, model_name = route.split("/")[1:3]
    model = apps.get_model(app_label, model_name)
    row = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
    return str(row if row is not None else 1)


def fill(route: str, name: str, objs: SiteObjects, world: World) -> dict | None:
    """URL kwargs for `route` naming `objs`' objects (None when the route names no object)."""
    params = [m.group(2) or m.group(3) for m in PARAM.finditer(route)]
    if not params:
        return None
    forms, kwargs = objs.forms, {}
    for param in params:
        if route.startswith("admin/r/"):  # the admin's "view on site" redirect
            from django.contrib.contenttypes.models import ContentType

            kwargs[param] = (ContentType.objects.get_for_model(type(forms["patient"])).pk
                             if param == "content_type_id" else forms["patient"].pk)
        elif route.startswith("admin/"):
            kwargs[param] = {"app_label": "crfs", "url": "no-such-page/"}.get(param) or _admin_object_id(route)
        elif param == "patient_id":
            kwargs[param] = forms["patient"].pk
        elif param == "line_id":
            kwargs[param] = forms["treatment"].pk
        elif param == "family_code":
            kwargs[param] = "labs" if "/new/" in route else "pathology"
        elif param == "specimen_pk":
            kwargs[param] = objs.specimen.pk
        elif param == "code":
            kwargs[param] = "flow"
        elif param == "fmt":
            kwargs[param] = world.figure.fmt
        elif param == "pk":
            kwargs[param] = _pk(route, objs, world)
        else:
            raise KeyError(f"no filler for <{param}> in {route}")
    return kwargs


def _pk(route: str, objs: SiteObjects, world: World) -> int:
    forms = objs.forms
    if m := _API_FORM.match(route):
        return forms[m.group(1)].pk
    table = [
        ("patients/<int:patient_id>/<str:family_code>/", forms["pathology"].pk),
        ("api/v1/patients/", forms["patient"].pk),
        ("queries/patients/", forms["patient"].pk), ("api/v1/queries/patients/", forms["patient"].pk),
        ("queries/forms/", forms["pathology"].pk),
        ("api/v1/queries/sdv/", objs.verification.pk),
        ("api/v1/queries/sites/", objs.site.pk), ("api/v1/sites/", objs.site.pk),
        ("queries/", objs.query.pk), ("api/v1/queries/", objs.query.pk),
        ("pathology/cases/", objs.case.pk), ("api/v1/pathology/cases/", objs.case.pk),
        ("pathology/material/shipments/", objs.shipment.pk), ("api/v1/pathology/shipments/", objs.shipment.pk),
        ("pathology/notifications/", objs.notification.pk), ("api/v1/pathology/notifications/", objs.notification.pk),
        ("exports/tokens/", objs.token.pk), ("exports/", objs.job.pk), ("api/v1/exports/jobs/", objs.job.pk),
        ("analysis/runs/", world.run.pk), ("api/v1/analysis/runs/", world.run.pk),
        ("analysis/figures/", lambda: world.figure.pk),
    ]
    for prefix, pk in table:
        if route.startswith(prefix):
            return pk() if callable(pk) else pk
    raise KeyError(f"no object for <pk> in {route}")


# --- site B fingerprint ----------------------------------------------------------------------------------


def site_scoped_models() -> list[tuple[type, str]]:
    """Every concrete model whose default manager scopes by site, with its lookup path to the site."""
    found = []
    for model in apps.get_models():
        queryset = model._default_manager.get_queryset()
        if isinstance(queryset, SiteScopedQuerySet):
            found.append((model, queryset.site_field))
    return found


class Fingerprint:
    """One SQL statement hashing every row of one site's data (all site-scoped tables) plus each table's highest
    id, so a refused request that changed, deleted or added anything is caught."""

    def __init__(self, site, models):
        parts, params = [], []
        for model, site_field in models:
            table, pk = model._meta.db_table, model._meta.pk.column  # names from the model registry, not input
            ids = list(model._default_manager.filter(**{site_field: site}).values_list("pk", flat=True))
            parts.append(f"(SELECT md5("  # noqa: S608
                         f"coalesce(string_agg(t::text, '|' ORDER BY t.{pk}), '')) FROM {table} t "
                         f"WHERE t.{pk} = ANY(%s)) || (SELECT coalesce(max({pk}), 0)::text FROM {table})")
            params.append(ids)
        self.sql, self.params = "SELECT " + ", ".join(parts), params

    def __call__(self) -> tuple:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(self.sql, self.params)
            return cursor.fetchone()
