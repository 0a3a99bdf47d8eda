"""The REDCap-compatible endpoint: form-encoded POST with `token` and `content`, answers and errors as REDCap
gives them. CSRF-exempt (token-authenticated, no cookies); site scoping and pseudonymisation as for every
export; each record export is written to the audit trail."""

from __future__ import annotations

import csv
import io
import json
import re
from xml.sax.saxutils import escape

from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from registry.exports import selectors, services
from registry.exports.deid import Deidentifier
from registry.exports.models import JobSource
from registry.exports.redcap.api import REDCAP_VERSION, Project, RedcapRequestError
from registry.exports.tables import ExportSource

NO_PERMISSION = "You do not have permissions to use the API"
FORMATS = ("json", "csv", "xml")
#: Longitudinal-only content a classic project refuses (PyCap reads the refusal as "not longitudinal").
CLASSIC_REFUSALS = {"formEventMapping": "form/event mappings", "event": "events", "arm": "arms"}


def _array(post, name: str) -> list[str]:
    """REDCap arrays: `name[0]=a&name[1]=b`, `name[]=a`, or a comma-separated `name=a,b`."""
    indexed = sorted((int(m.group(1) or 0), k) for k in post if (m := re.fullmatch(rf"{name}\[(\d*)\]", k)))
    values = [v for _, k in indexed for v in post.getlist(k)]
    if name in post:
        values += [part.strip() for v in post.getlist(name) for part in v.split(",")]
    return [v for v in values if v]


def error(message: str, status: int, fmt: str) -> HttpResponse:
    if fmt == "json":
        return JsonResponse({"error": message}, status=status)
    if fmt == "csv":
        return HttpResponse(f"ERROR: {message}", status=status, content_type="text/csv; charset=utf-8")
    body = f'<?xml version="1.0" encoding="UTF-8" ?>\n<hash>\n  <error>{escape(message)}</error>\n</hash>'
    return HttpResponse(body, status=status, content_type="text/xml; charset=utf-8")


def _xml(root: str, rows) -> str:
    items = "".join("<item>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in row.items()) + "</item>"
                    for row in rows)
    return f'<?xml version="1.0" encoding="UTF-8" ?><{root}>{items}</{root}>'


def _table(rows: list[dict], fmt: str, root: str) -> HttpResponse:
    if fmt == "json":
        return JsonResponse(rows, safe=False)
    if fmt == "csv":
        buf = io.StringIO(newline="")
        if rows:
            writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        return HttpResponse(buf.getvalue(), content_type="text/csv; charset=utf-8")
    return HttpResponse(_xml(root, rows), content_type="text/xml; charset=utf-8")


def _stream_records(columns: list[str], rows, fmt: str):
    if fmt == "json":
        yield "["
        first = True
        for row in rows:
            yield ("" if first else ",") + json.dumps(row, ensure_ascii=False)
            first = False
        yield "]"
    elif fmt == "csv":
        buf = io.StringIO(newline="")
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row[c] for c in columns])
            if buf.tell() > 64 * 1024:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue()
    else:
        yield '<?xml version="1.0" encoding="UTF-8" ?><records>'
        for row in rows:
            yield "<item>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in row.items()) + "</item>"
        yield "</records>"


def _project_for(token) -> tuple[Project, dict]:
    user = token.user
    pseudonymise = selectors.must_pseudonymise(
        user, set(selectors.export_sites_for_user(user).values_list("pk", flat=True)))
    options = {"drop_free_text": pseudonymise, "dates": "shift" if pseudonymise else "keep",
               "hash_record_id": False, "pseudonymised": pseudonymise,
               "release": token.release.name if token.release_id else None}
    key = services.release_key(token.release) if pseudonymise else b""
    deid = Deidentifier(drop_free_text=pseudonymise, dates=options["dates"], key=key)
    source = ExportSource(patients=selectors.export_patients(user, site_ids=None), deid=deid)
    return Project(source), options


@csrf_exempt
def api(request) -> HttpResponse:
    post = request.POST
    fmt = post.get("format", "xml")
    return_format = post.get("returnFormat") or fmt
    return_format = return_format if return_format in FORMATS else "xml"
    if request.method != "POST":
        return error(NO_PERMISSION, 403, return_format)
    token = selectors.redcap_token_user(post.get("token", ""))
    if token is None or not selectors.can_export(token.user):
        return error(NO_PERMISSION, 403, return_format)
    services.redcap_token_touch(token)
    content = post.get("content", "")
    if fmt not in FORMATS:
        return error('The value of the parameter "format" is not valid', 400, return_format)
    try:
        project, options = _project_for(token)
        if content == "version":
            return HttpResponse(REDCAP_VERSION, content_type="text/plain; charset=utf-8")
        if content == "project":
            info = project.info(project_id=1, title=services.study_info()["name"],
                                created=token.created_at.strftime("%Y-%m-%d %H:%M:%S"))
            return JsonResponse(info) if fmt == "json" else _table([info], fmt, "item")
        if content == "metadata":
            return _table(project.metadata(fields=_array(post, "fields"), forms=_array(post, "forms")), fmt,
                          "records")
        if content == "exportFieldNames":
            return _table(project.export_field_names(post.get("field") or None), fmt, "fields")
        if content == "instrument":
            return _table(project.instruments(), fmt, "instruments")
        if content in CLASSIC_REFUSALS:
            raise RedcapRequestError(f"You cannot export {CLASSIC_REFUSALS[content]} for classic projects")
        if content == "record":
            return _records(request, project, options, fmt, token)
        raise RedcapRequestError('The value of the parameter "content" is not valid')
    except RedcapRequestError as exc:
        return error(exc.message, exc.status, return_format)


def _records(request, project: Project, options: dict, fmt: str, token) -> HttpResponse:
    post = request.POST
    record_type = post.get("type", "flat")
    if record_type not in ("flat", "eav"):
        raise RedcapRequestError('The value of the parameter "type" is not valid')
    raw_or_label = post.get("rawOrLabel", "raw")
    if raw_or_label not in ("raw", "label"):
        raise RedcapRequestError('The value of the parameter "rawOrLabel" is not valid')
    fields, forms, records = _array(post, "fields"), _array(post, "forms"), _array(post, "records")
    export = project.eav_records if record_type == "eav" else project.records
    columns, rows = export(fields=fields, forms=forms, records=records, labels=raw_or_label == "label")
    patients = project.source.patients.filter(study_id__in=records) if records else project.source.patients
    services.export_log_synchronous(
        user=token.user, source=JobSource.REDCAP_API, fmt=fmt, shape="long", forms=forms, options=options,
        site_ids=sorted(selectors.site_ids_of(patients)),
        row_count=patients.count(),
        details={"content": "record", "type": record_type, "fields": fields, "records": records,
                 "rawOrLabel": raw_or_label, "token": token.pk},
    )
    content_type = {"json": "application/json", "csv": "text/csv; charset=utf-8",
                    "xml": "text/xml; charset=utf-8"}[fmt]
    return StreamingHttpResponse(_stream_records(columns, rows, fmt), content_type=content_type)
