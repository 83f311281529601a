"""Wire the operations layer into the application (one call from ``create_app``)."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from fieldlink.ops import idempotency


def install_operations(app: FastAPI, factory: sessionmaker[Session]) -> None:
    idempotency.install(app, factory)
