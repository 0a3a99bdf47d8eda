"""Load for the PostgreSQL-restart fault test, run as its own process against the private server:
`python -m tests.faults.pg_load_driver RESULT.json MAX_SECONDS TOKEN PATIENT_ID...` (DATABASE_URL in the env);
it stops when RESULT.json.stop appears (or after MAX_SECONDS).

In a loop over the patients it reads the baseline form's version through the API and PATCHes a new, unique
weight with If-Match, through the whole Django stack (middleware, DRF, services, handler500) like a server
would. It records every answer (status, weight sent, time, whether the body leaked a traceback) and writes
the count of successes to RESULT.json.progress as it goes, so the test knows when to restart the server.
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")


def main(result_path: str, seconds: float, token: str, patient_ids: list[int]) -> None:
    import django

    django.setup()
    from django.db import close_old_connections
    from rest_framework.test import APIClient

    client = APIClient()
    client.raise_request_exception = False  # answers as a server gives them (handler500), not exceptions

    def request(method, *args, **kwargs):
        # A WSGI server's handler runs close_old_connections on request_started and request_finished (so
        # CONN_HEALTH_CHECKS can replace a broken persistent connection); Django's test client switches
        # that off, so it is done here, around each request, exactly as the server would.
        close_old_connections()
        try:
            return getattr(client, method)(*args, **kwargs)
        finally:
            close_old_connections()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    attempts: list[dict] = []
    started = time.monotonic()
    n = ok = 0
    while time.monotonic() - started < seconds and not os.path.exists(result_path + ".stop"):
        patient_id = patient_ids[n % len(patient_ids)]
        weight = round(30 + (n % 2000) / 10, 1)
        n += 1
        url = f"/api/v1/patients/{patient_id}/baseline/"
        record = {"patient": patient_id, "weight": weight, "t": round(time.monotonic() - started, 3)}
        got = request("get", url)
        record["get"] = got.status_code
        if got.status_code == 200:
            response = request("patch", url, {"weight_kg": weight}, format="json", HTTP_IF_MATCH=got["ETag"])
            record["status"] = response.status_code
            body = response.content.decode(errors="replace")
            record["leak"] = "Traceback" in body or "psycopg" in body or "OperationalError" in body
            record["retry_after"] = response.get("Retry-After")
            ok += response.status_code == 200
        else:
            body = got.content.decode(errors="replace")
            record["leak"] = "Traceback" in body or "psycopg" in body or "OperationalError" in body
            record["retry_after"] = got.get("Retry-After")
            time.sleep(0.2)
        attempts.append(record)
        with open(result_path + ".progress", "w") as fh:
            fh.write(str(ok))
    with open(result_path, "w") as fh:
        json.dump(attempts, fh)


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]), sys.argv[3], [int(a) for a in sys.argv[4:]])
