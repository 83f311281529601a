"""What the generated OpenAPI document leaves out and the API does: problem+json errors on
every operation (RFC 9457, API.md conventions) and the Idempotency-Key header on every
``/v1`` POST. Fuzzing (tests/ops/test_fuzz.py) holds every answer to this document."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from fieldlink.ops.idempotency import document_header

PROBLEM_MEDIA = "application/problem+json"
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details; `code` is a stable snake_case reason.",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}
ERROR_STATUSES = {
    "400": "Bad request",
    "401": "Missing or unknown API key",
    "403": "Forbidden (or a webhook with a wrong signature)",
    "404": "Not found (or another company's)",
    "405": "Method not allowed",
    "409": "Conflict (including a reused Idempotency-Key)",
    "413": "Request body too large",
    "415": "Unsupported media type",
    "422": "Validation failed; `errors` lists each field",
    "429": "Too many requests",
}


def document_errors(spec: dict[str, Any]) -> dict[str, Any]:
    components = spec.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    ref = {"$ref": "#/components/schemas/Problem"}
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status, description in ERROR_STATUSES.items():
                responses[status] = {
                    "description": description,
                    "content": {PROBLEM_MEDIA: {"schema": ref}},
                }
    return spec


def install_openapi(app: FastAPI) -> None:
    base = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_header(document_errors(base()))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
