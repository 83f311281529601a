"""Domain errors. Each carries an HTTP status and a stable snake_case reason code."""

from __future__ import annotations


class FieldlinkError(Exception):
    status = 400
    code = "bad_request"
    title = "Bad request"

    def __init__(
        self, detail: str, *, errors: list[dict[str, str]] | None = None, code: str | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        if code:
            self.code = code


class ValidationFailed(FieldlinkError):
    status = 422
    code = "validation_failed"
    title = "Validation failed"

    def __init__(self, field: str, message: str, *, code: str | None = None) -> None:
        super().__init__(
            f"{field}: {message}", errors=[{"field": field, "message": message}], code=code
        )


class NotFound(FieldlinkError):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(FieldlinkError):
    status = 409
    code = "conflict"
    title = "Conflict"


class Forbidden(FieldlinkError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class Unauthorized(FieldlinkError):
    status = 401
    code = "unauthorized"
    title = "Unauthorized"


class PayloadTooLarge(FieldlinkError):
    status = 413
    code = "payload_too_large"
    title = "Payload too large"
