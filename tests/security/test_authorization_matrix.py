"""Authorization matrix (issue 8 item 1): every URL pattern of the URL conf (walked from get_resolver(), so a new
endpoint without an entry in `EXPECT` or `ADMIN_MODELS` fails `test_the_matrix_covers_exactly_the_url_conf`)
× every persona of tests/conftest.py (+ a superuser) × every verb its view answers, on site A's objects, and
the site personas again on site B's objects.

Expectations: `EXPECT[route]` names, per persona, the verbs that are let through (2xx/3xx, or 400/409/412/428:
past authorization, refused on input or state); every other (persona, verb) must be refused (login redirect,
401, 403, 404 or 405). Data: no response to a site-A persona contains site B's study ids or query text, and
no response to the outsider or anonymous contains either site's. Other site: a site-A persona asking for a
site-B object gets 404 (or the same refusal its role gets on its own site: never a 200 or a 403 that reveals
existence), and every write attempt leaves every site-B row unchanged (one-statement row hash, inside the
request's savepoint); writes by the outsider, anonymous and the statistician leave site A unchanged too, and a
pathologist's leave site A's case books and queries unchanged (web actions refuse with a message and a
redirect, so a 302 alone proves nothing). Every request runs in a savepoint that is rolled back, so allowed
writes never change what the next case sees. Admin: superuser-only pages (site-scoped admin querysets are
tested in the apps).
"""

from __future__ import annotations

import logging

import pytest
from django.db import transaction

from tests.security.expectations import ADMIN_MODELS, EXPECT, admin_rule
from tests.security.matrix import VERBS, Runner
from tests.security.world import (
    PARAM,
    PERSONAS,
    SITE_PERSONAS,
    Fingerprint,
    build_world,
    fill,
    site_scoped_models,
    walk,
)

ALLOWED = {"ok", "invalid"}
REFUSED = {"login", "deny", "404", "405"}
#: Cases each area must execute (measured: pages 1,461 / api 1,779 / admin 5,418): a broken walker that
#: silently skips routes fails here. Each area asserts its own count, so the test holds under pytest-xdist.
MIN_CASES = {"pages": 1300, "api": 1600, "admin": 5000}

#: Personas whose writes must never change any site's data (pathologists: never the case book or queries).
READ_ONLY = ("outsider", "anonymous", "statistician")

COUNTS = {"cases": 0, "other_site": 0, "leaks": 0}


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """One two-site world for the module, inside a transaction rolled back at the end."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            built = build_world()
            built.runner = Runner(built)
            models = site_scoped_models()
            built.fingerprint_b = Fingerprint(built.b.site, models)
            built.fingerprint_a = Fingerprint(built.a.site, models)
            built.fingerprint_a_casebook = Fingerprint(
                built.a.site, [(m, f) for m, f in models if m._meta.app_label in ("patients", "crfs", "queries")])
            yield built
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def _quiet_request_log():
    """Thousands of deliberate 403/404/405s: keep django.request's warnings out of the output."""
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


def _routes():
    return [(route, name) for route, name, _callback in walk()]


def _url(route: str, kwargs: dict | None) -> str:
    """The route with its kwargs filled in (regex routes of the admin lose their anchors)."""
    return "/" + PARAM.sub(lambda m: str(kwargs[m.group(2) or m.group(3)]), route).replace("^", "").replace("$", "")


def _rule(route: str):
    return admin_rule(route) if route.startswith("admin/") else EXPECT[route]


def test_the_matrix_covers_exactly_the_url_conf():
    routes = {route for route, _name in _routes()}
    web_and_api = {r for r in routes if not r.startswith("admin/")}
    assert sorted(web_and_api - set(EXPECT)) == [], "URL patterns without an authorization expectation"
    assert sorted(set(EXPECT) - web_and_api) == [], "expectations for URL patterns that no longer exist"
    admin_models = {"/".join(r.split("/")[1:3]) for r in routes if r.count("/") >= 3 and r.startswith("admin/")
                    and not r.startswith(("admin/r/", "admin/password_change/"))}
    assert admin_models == set(ADMIN_MODELS), "admin registrations changed: review who may reach them"


def _check(world, route, persona, verb, url, *, other_site: bool, failures: list):
    rule = _rule(route)
    allowed = verb in rule.verbs_for(persona)
    writes = verb not in ("GET", "HEAD")
    fingerprint = None
    if writes and other_site:
        fingerprint = world.fingerprint_b
    elif writes and persona in READ_ONLY:
        fingerprint = world.fingerprint_a
    elif writes and persona == "pathologist":
        fingerprint = world.fingerprint_a_casebook
    result = world.runner.request(persona, verb, url, fingerprint=fingerprint)
    COUNTS["cases"] += 1
    where = "site B object" if other_site else "own site"
    if persona in rule.lenient and not other_site:
        if result.outcome == "5xx":
            failures.append(f"{verb} {url} as {persona}: {result.status}")
    elif route == "health" and result.status == 503:
        pass  # the health check's "broker/worker down" answer (no broker in tests): public, no data
    elif result.outcome == "5xx":
        failures.append(f"{verb} {url} as {persona} ({where}): server error {result.status}")
    elif other_site:
        COUNTS["other_site"] += 1
        # 400: the body was refused before any lookup (same answer for an id that does not exist).
        if result.outcome != "404" and result.status != 400 and (allowed or result.outcome not in REFUSED):
            failures.append(f"{verb} {url} as {persona}: {result.status} on a {where} (expected 404)")
        if result.changed:
            failures.append(f"{verb} {url} as {persona}: changed site B's data")
    elif result.changed:
        failures.append(f"{verb} {url} as {persona}: a read-only persona changed site A's data")
    elif allowed and result.outcome not in ALLOWED:
        failures.append(f"{verb} {url} as {persona}: {result.status}, expected to be let through")
    elif not allowed and result.outcome not in REFUSED:
        failures.append(f"{verb} {url} as {persona}: {result.status}, expected a refusal")
    forbidden = world.markers_of_b() if persona in SITE_PERSONAS else \
        world.markers_of_b() + world.markers_of_a() if persona in ("outsider", "anonymous") else []
    for marker in forbidden:
        if marker in result.body:
            COUNTS["leaks"] += 1
            failures.append(f"{verb} {url} as {persona} ({where}): response contains {marker!r}")


def _run(world, routes) -> list[str]:
    failures: list[str] = []
    for route, name in routes:
        rule = _rule(route)
        own = fill(route, name, world.a, world)
        for persona in PERSONAS:
            for verb in rule.methods:
                _check(world, route, persona, verb, _url(route, own), other_site=False, failures=failures)
        if own is None or route.startswith("admin/") or not rule.site_object:
            continue
        other = _url(route, fill(route, name, world.b, world))
        for persona in SITE_PERSONAS:
            for verb in rule.methods:
                _check(world, route, persona, verb, other, other_site=True, failures=failures)
    return failures


@pytest.mark.django_db
@pytest.mark.parametrize("area", ["pages", "api", "admin"])
def test_every_route_persona_and_verb(world, area):
    routes = [(r, n) for r, n in _routes()
              if (area == "admin") == r.startswith("admin/") and (area == "api") == r.startswith("api/")]
    before = dict(COUNTS)
    failures = _run(world, routes)
    cases, other_site = COUNTS["cases"] - before["cases"], COUNTS["other_site"] - before["other_site"]
    leaks = COUNTS["leaks"] - before["leaks"]
    print(f"\nauthorization matrix, {area}: {len(routes)} URL patterns, {cases} cases ({other_site} on site B "
          f"objects), {leaks} leaks; verbs {VERBS}")
    assert cases >= MIN_CASES[area] and leaks == 0
    if area != "admin":
        assert other_site > 0
    assert failures == [], f"{len(failures)} authorization failures:\n" + "\n".join(failures)
