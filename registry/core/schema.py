"""OpenAPI descriptions of the registry's own authentication classes (drf-spectacular extensions)."""

from drf_spectacular.authentication import SessionScheme, TokenScheme


class AuditedTokenScheme(TokenScheme):
    target_class = "registry.core.authentication.AuditedTokenAuthentication"


class AuditedSessionScheme(SessionScheme):
    target_class = "registry.core.authentication.AuditedSessionAuthentication"


#: What each shared error status means for any registry API operation (bodies are registry.core.api's).
ERROR_DESCRIPTIONS = {
    "400": "Invalid input: field errors or a broken business rule (the body names the rule and fields).",
    "401": "Not signed in (no or an invalid token).",
    "403": "Your role does not allow this action.",
    "404": "No such object, or not visible to you (objects of other sites are never revealed).",
    "409": "The object's workflow state forbids this (wrong step, already done, locked).",
    "429": "Too many requests; retry after the X-RateLimit-Reset time.",
}
_WRITES = {"post", "put", "patch", "delete"}
_API_ERROR = {
    "type": "object",
    "description": "Every 4xx body: a message, a machine code, the rule broken and the offending fields.",
    "properties": {"detail": {"type": "string"}, "code": {"type": "string"}, "rule": {"type": "string"},
                   "errors": {"type": "object", "additionalProperties": {"type": "array",
                                                                       "items": {"type": "string"}}}},
    "required": ["detail"],
}


def document_error_responses(result, generator, request, public):
    """Postprocessing hook: every API operation documents the error statuses it can answer (400 for input,
    401, 403, 404 where the path or a write's body names an object or a list page is out of range, 409 on
    writes, 429), so clients and schemathesis know them;
    operations that already describe a status (the CRF API's locking contract) keep their own text."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("ApiError", _API_ERROR)
    body = {"application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}}
    for url, item in result.get("paths", {}).items():
        if not url.startswith("/api/v1/"):
            continue
        for method, operation in item.items():
            if method not in _WRITES | {"get"}:
                continue
            params = operation.get("parameters", [])
            codes = ["401", "403", "429"]
            if method in _WRITES or any(p.get("in") == "query" for p in params) or "requestBody" in operation:
                codes.append("400")
            paginated = any(p.get("in") == "query" and p.get("name") == "page" for p in params)
            if "{" in url or paginated or (method in _WRITES and "requestBody" in operation):
                codes.append("404")
            if method in _WRITES:
                codes.append("409")
            responses = operation.setdefault("responses", {})
            for code in codes:
                responses.setdefault(code, {"description": ERROR_DESCRIPTIONS[code], "content": body})
    return result
