"""Wire the operations layer into the application (one call from ``create_app``)."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from fieldlink.ops import idempotency
from fieldlink.ops.metrics import install_metrics
from fieldlink.ops.openapi import install_openapi


def install_operations(app: FastAPI, factory: sessionmaker[Session]) -> None:
    idempotency.install(app, factory)
    install_openapi(app)
    install_metrics(app, factory)  # outermost: times and ids everything
