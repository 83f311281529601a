"""Schemathesis against /openapi.json: every operation, authenticated, bounded examples.

No answer may be a 5xx, and every answer must match the documented schema and media type.
Runs on the suite's database (SQLite or PostgreSQL), each operation rolled back like any
other test. (Hypothesis drives schemathesis' strategies directly: its pytest plugin does
not yet run under pytest 9.)
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)
from sqlalchemy.orm import Session, sessionmaker

from fieldlink.app import create_app
from fieldlink.config import Settings
from tests.conftest import Tenant

EXAMPLES = 5  # per operation: ~90 operations, well under a minute per database
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


class _CurrentFactory:
    """The app is built once; each test points it at that test's rolled-back session."""

    factory: sessionmaker[Session] | None = None

    def __call__(self) -> Session:
        assert self.factory is not None
        return self.factory()


_current = _CurrentFactory()
_app = create_app(
    Settings(  # type: ignore[call-arg]
        database_url="sqlite://",
        secret_key="test-secret",
        base_url="http://testserver",
        twilio_account_sid="ACtest",
        twilio_auth_token="test-auth-token",
        email_webhook_secret="test-email-secret",
    ),
    factory=_current,  # type: ignore[arg-type]
)
_schema = schemathesis.openapi.from_asgi("/openapi.json", _app)
OPERATIONS = sorted(op.ok().label for op in _schema.get_all_operations())


@pytest.mark.parametrize("label", OPERATIONS)
def test_no_operation_errors_or_breaks_its_schema(
    label: str, session_factory: sessionmaker[Session], tenant: Tenant
) -> None:
    _current.factory = session_factory
    operation = _schema.find_operation_by_label(label)
    assert operation is not None
    headers = {"Authorization": f"Bearer {tenant.api_key}"}

    @given(case=operation.as_strategy())
    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,  # the same examples on every run: a CI failure reproduces
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()
