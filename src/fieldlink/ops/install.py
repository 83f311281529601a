"""Wire the operations layer into the application (one call from ``create_app``)."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from fieldlink.ops import idempotency
from fieldlink.ops.metrics import install_metrics
from fieldlink.ops.openapi import install_openapi
from fieldlink.web.group_commit import GroupCommit
from fieldlink.web.webhook_lane import install_webhook_lane


def install_operations(app: FastAPI, factory: sessionmaker[Session]) -> None:
    idempotency.install(app, factory)
    install_openapi(app)
    app.state.group_commit = GroupCommit(factory)
    install_webhook_lane(app, app.state.settings, app.state.group_commit)
    install_metrics(app, factory)  # outermost: times and ids everything
