"""The authorization matrix's request runner: one Django test client per persona (session for pages, token for
the API, a REDCap token for /redcap/api/), every request inside a savepoint that is rolled back (so an allowed
write never changes what the next case sees), and outcome classes instead of raw status codes."""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from rest_framework.authtoken.models import Token

VERBS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def outcome(response) -> str:
    """login | deny (401/403) | 404 | 405 | ok (2xx, other 3xx) | invalid (400/409/412/422/428) | 5xx."""
    code = response.status_code
    if code in (301, 302, 303) and "/login/" in response.get("Location", ""):
        return "login"
    if code in (401, 403):
        return "deny"
    if code in (404, 405):
        return str(code)
    if code >= 500:
        return "5xx"
    if code in (400, 409, 412, 422, 428):
        return "invalid"
    if code == 429:
        return "throttled"
    return "ok"


@dataclass
class Result:
    status: int
    outcome: str
    body: str
    changed: bool


class Runner:
    def __init__(self, world):
        self.world = world
        self.clients: dict[str, tuple[Client, dict]] = {}
        for name in ("anonymous", *world.users):
            client = Client(raise_request_exception=False)
            headers, cookie = {}, None
            user = world.users.get(name)
            if user is not None:
                client.force_login(user)
                cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
                headers["HTTP_AUTHORIZATION"] = f"Token {Token.objects.get_or_create(user=user)[0].key}"
            self.clients[name] = (client, {"headers": headers, "cookie": cookie})
        self.executed = 0

    def request(self, persona: str, verb: str, url: str, *, fingerprint=None) -> Result:
        """One request, rolled back; `fingerprint` (a callable) is compared before/after inside the savepoint."""
        client, auth = self.clients[persona]
        api = url.startswith("/api/")
        extra = dict(auth["headers"]) if api else {}
        if auth["cookie"] is not None:
            client.cookies[settings.SESSION_COOKIE_NAME] = auth["cookie"]  # a logout earlier was rolled back
        if persona == "anonymous" or api:
            cache.clear()  # throttle counters: the anonymous limit is tested on its own
        data, content_type = self._body(persona, verb, url, api)
        with transaction.atomic():
            before = fingerprint() if fingerprint else None
            call = getattr(client, verb.lower())
            if verb in ("GET", "HEAD"):
                response = call(url, **extra)
            else:
                response = call(url, data=data, content_type=content_type, **extra)
            changed = bool(fingerprint) and fingerprint() != before
            transaction.set_rollback(True)
        self.executed += 1
        body = b"" if verb == "HEAD" or getattr(response, "streaming", False) else response.content
        return Result(response.status_code, outcome(response), body.decode("utf-8", "replace"), changed)

    def _body(self, persona: str, verb: str, url: str, api: bool):
        if url == "/redcap/api/":
            token = self.world.redcap_tokens.get(persona, "0" * 32)
            from urllib.parse import urlencode

            payload = {"token": token, "content": "record", "format": "json", "type": "flat"}
            return urlencode(payload), "application/x-www-form-urlencoded"
        if api:
            return json.dumps({}), "application/json"
        return "", "application/x-www-form-urlencoded"
