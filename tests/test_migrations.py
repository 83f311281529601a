"""Migrations and models agree, and the chain goes down and up again cleanly."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from fieldlink.db import make_engine
from fieldlink.migrate import alembic_config, pending_revisions, upgrade
from fieldlink.models import Base


def test_the_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert pending_revisions(conn) == []
    assert diff == [], f"models and migrations differ; write a migration: {diff}"


def test_migrations_downgrade_to_nothing_and_upgrade_again(fresh_database_url: str) -> None:
    eng = make_engine(fresh_database_url)
    upgrade(eng)
    cfg = alembic_config()
    with eng.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert set(inspect(eng).get_table_names()) <= {"alembic_version"}
    upgrade(eng)
    assert "messages" in inspect(eng).get_table_names()
    eng.dispose()
