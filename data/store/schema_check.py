"""Is a store's schema exactly the one the production migrations build?

A backup, a restored file or a live store may carry a planted trigger (one that sets
every new total to 0), a no-op trigger under the name of an append-only one, a dropped
index or an extra column. The expected schema is derived, never written down: a fresh
temporary store is migrated with the production migrations (data/store/migrate.py) and its
catalogue read the same way as the store's, so it stays right as migrations are added.

- SQLite: every row of `sqlite_master` (tables, indexes, triggers, views: type, name,
  table and SQL with whitespace collapsed) must match, both ways. SQLite's own tables
  (`sqlite_sequence`, `sqlite_stat*`) are left out; their automatic indexes are
  compared by name.
- PostgreSQL: the fresh schema is migrated into a temporary schema of the same
  database (dropped afterwards), and both are read from pg_catalog: tables, columns
  (type, nullability, default), indexes (`pg_get_indexdef`), triggers
  (`pg_get_triggerdef`), the trigger functions' bodies and views, with the schema
  name taken out of the definitions.

`differences()` lists every difference, the first one first, in words:
"trigger audit_event_no_update: its definition differs from the migrations' ...".
"""

from __future__ import annotations

import functools
import re
import secrets
import sqlite3
import tempfile
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

Catalogue = dict[tuple[str, str], str]  # (kind, name) -> normalised definition

_SPACE = re.compile(r"\s+")
_QUOTED_NAME = re.compile(r'"([A-Za-z_][A-Za-z0-9_]*)"')


def normalise(sql: str | None) -> str:
    """SQL with runs of white space collapsed (and none around brackets and commas)."""
    if sql is None:
        return ""
    collapsed = _SPACE.sub(" ", sql).strip()
    unquoted = _QUOTED_NAME.sub(r"\1", collapsed)  # "audit_event" and audit_event alike
    return re.sub(r"\s*([(),;])\s*", r"\1", unquoted)


_CONSTRAINT = ("PRIMARY KEY", "FOREIGN KEY", "UNIQUE", "CHECK", "CONSTRAINT")


def _top_level_items(body: str) -> list[str]:
    """The comma-separated items of a bracket's content, brackets inside kept whole."""
    items, depth, start = [], 0, 0
    for i, char in enumerate(body):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            items.append(body[start:i])
            start = i + 1
    return [*items, body[start:]]


def table_definition(sql: str) -> str:
    """A CREATE TABLE, normalised, with its table constraints sorted: Alembic's batch
    mode rebuilds a table with its foreign keys in no fixed order."""
    sql = normalise(sql)
    opening, closing = sql.find("("), sql.rfind(")")
    if opening < 0 or closing < opening:
        return sql
    items = _top_level_items(sql[opening + 1:closing])
    columns = [i for i in items if not i.upper().startswith(_CONSTRAINT)]
    constraints = sorted(i for i in items if i.upper().startswith(_CONSTRAINT))
    return sql[:opening + 1] + ",".join(columns + constraints) + sql[closing:]


# --- SQLite ---------------------------------------------------------------------------

def sqlite_catalogue(conn: sqlite3.Connection) -> Catalogue:
    """The schema of an open SQLite database, from sqlite_master."""
    rows = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
    catalogue: Catalogue = {}
    for kind, name, table, sql in rows:
        if kind == "table" and name.startswith("sqlite_"):
            continue  # sqlite_sequence, sqlite_stat1...: SQLite's own bookkeeping
        definition = table_definition(sql) if kind == "table" else normalise(sql)
        catalogue[(kind, name)] = f"on {table}: {definition}"
    return catalogue


@functools.lru_cache(maxsize=1)
def expected_sqlite() -> Catalogue:
    """The schema a fresh SQLite store gets from the production migrations."""
    from data.store.db import make_engine
    from data.store.migrate import upgrade

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "expected.db"
        engine = make_engine(f"sqlite:///{path}")
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        conn = sqlite3.connect(path)
        try:
            return sqlite_catalogue(conn)
        finally:
            conn.close()


def sqlite_file_differences(path: str | Path) -> list[str]:
    """Differences between a SQLite file's schema and the migrations' (opened read-only)."""
    conn = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True)
    try:
        return compare(sqlite_catalogue(conn), expected_sqlite())
    finally:
        conn.close()


# --- PostgreSQL -----------------------------------------------------------------------

_PG_QUERIES = {
    "table": """SELECT c.relname, '' FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = :schema AND c.relkind IN ('r', 'p')""",
    "column": """SELECT table_name || '.' || column_name,
                        data_type || ' ' || coalesce(character_maximum_length::text, '') || ' '
                        || is_nullable || ' ' || coalesce(column_default, '')
                 FROM information_schema.columns WHERE table_schema = :schema""",
    "index": """SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = :schema""",
    "trigger": """SELECT t.tgname || ' on ' || c.relname, pg_get_triggerdef(t.oid)
                  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                  JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = :schema AND NOT t.tgisinternal""",
    "function": """SELECT p.proname, p.prosrc FROM pg_proc p
                   JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = :schema""",
    "view": """SELECT viewname, definition FROM pg_views WHERE schemaname = :schema""",
}


def postgres_catalogue(conn: Connection, schema: str) -> Catalogue:
    """The schema `schema` of a PostgreSQL database, from pg_catalog."""
    catalogue: Catalogue = {}
    for kind, sql in _PG_QUERIES.items():
        for name, definition in conn.execute(text(sql), {"schema": schema}):
            definition = (definition or "").replace(f"{schema}.", "")
            catalogue[(kind, name)] = normalise(definition)
    return catalogue


def expected_postgres(conn: Connection) -> Catalogue:
    """Migrate a temporary schema of the same database, read it, drop it."""
    from alembic import command

    from data.store.migrate import alembic_config

    schema = f"schema_check_{secrets.token_hex(6)}"
    with conn.engine.connect() as scratch:
        try:
            with scratch.begin():
                scratch.execute(text(f'CREATE SCHEMA "{schema}"'))
                scratch.execute(text(f'SET LOCAL search_path TO "{schema}"'))
                config = alembic_config()
                config.attributes["connection"] = scratch
                command.upgrade(config, "head")
                return postgres_catalogue(scratch, schema)
        finally:
            with scratch.begin():
                scratch.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


# --- both -----------------------------------------------------------------------------

def compare(actual: Catalogue, expected: Catalogue) -> list[str]:
    """Every difference, in words, triggers first (they are what an attacker plants)."""
    order = {"trigger": 0, "function": 1, "table": 2, "column": 3, "index": 4, "view": 5}
    problems = []
    for key in sorted(set(actual) | set(expected), key=lambda k: (order.get(k[0], 9), k[1])):
        kind, name = key
        if key not in actual:
            problems.append(f"{kind} {name}: missing (the migrations create it)")
        elif key not in expected:
            problems.append(f"{kind} {name}: not part of the schema the migrations build "
                            f"(planted?): {actual[key][:200]}")
        elif actual[key] != expected[key]:
            problems.append(f"{kind} {name}: its definition differs from the migrations' "
                            f"(found: {actual[key][:200]}; expected: {expected[key][:200]})")
    return problems


def connection_differences(conn: Connection) -> list[str]:
    """Differences between the store behind an open connection and the migrations'."""
    if conn.dialect.name == "sqlite":
        return compare(sqlite_catalogue(conn.connection.driver_connection), expected_sqlite())
    schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    try:
        expected = expected_postgres(conn)
    except SQLAlchemyError as exc:  # e.g. a role without CREATE on the database
        return [f"schema: the migrations' schema could not be built for the comparison "
                f"({type(exc).__name__}; the role needs CREATE on the database): the "
                "triggers are not verified"]
    return compare(postgres_catalogue(conn, schema), expected)


def differences(engine: Engine) -> list[str]:
    """Differences between the store behind `engine` and the migrations' schema."""
    with engine.connect() as conn:
        return connection_differences(conn)


def trigger_differences(conn: Connection) -> list[str]:
    """The differences that concern triggers and trigger functions only (and a
    comparison that could not be made)."""
    return [d for d in connection_differences(conn)
            if d.startswith(("trigger ", "function ", "schema: "))]
