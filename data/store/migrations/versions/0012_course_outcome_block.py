"""course_outcome_block: the summary's read of the courses with their packs, kept per block
of course ids, and the triggers that mark a block stale

A whole-scope read of the courses with their packs took two reads of 380,573 rows at XL on
PostgreSQL (0.7-0.9 s of a cold Outcomes page); a row per block of 256 courses holds the
same read as one Arrow IPC stream (data/analytics/outcome_blocks.py, docs/PERFORMANCE.md).

A block is marked stale, in the writer's transaction, by any write to the packs, the
courses, or a patient's clinic or indication (the columns the block holds), whoever the
writer is (a service, the bulk writer's COPY, a hand-made UPDATE): a trigger, not the
application, keeps the mark. A missing block row counts as stale. The triggers upsert the
mark (a row created stale), so a writer and a builder of the same block always meet on its
row lock (PostgreSQL, READ COMMITTED).

The blocks are created stale here; the refresh that writes packs builds its blocks and a
few stale ones more, and `python manage.py rebuild-outcomes --blocks` builds them all.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BLOCK_COURSES = 256  # data.analytics.outcome_blocks.BLOCK_COURSES at this revision

# (table, the column holding a row's course id): any write to them marks the block
WATCHED = (("course_outcome_pack", "course_id"), ("course", "id"))


def _sqlite_triggers() -> list[str]:
    mark = ("INSERT INTO course_outcome_block (block, stale) VALUES ({key} / {n}, 1) "
            "ON CONFLICT (block) DO UPDATE SET stale = 1")
    sql = []
    for table, column in WATCHED:
        for event, rows in (("INSERT", ("NEW",)), ("UPDATE", ("OLD", "NEW")),
                            ("DELETE", ("OLD",))):
            body = "; ".join(mark.format(key=f"{row}.{column}", n=BLOCK_COURSES)
                             for row in rows)
            sql.append(f"CREATE TRIGGER {table}_block_{event.lower()} AFTER {event} ON "
                       f"{table} FOR EACH ROW BEGIN {body}; END")
    sql.append(
        "CREATE TRIGGER patient_block_update AFTER UPDATE OF clinic_id, indication ON patient "
        "FOR EACH ROW WHEN OLD.clinic_id IS NOT NEW.clinic_id "
        "OR OLD.indication IS NOT NEW.indication BEGIN "
        f"INSERT INTO course_outcome_block (block, stale) SELECT DISTINCT id / {BLOCK_COURSES}, "
        "1 FROM course WHERE patient_id = NEW.id AND true "
        "ON CONFLICT (block) DO UPDATE SET stale = 1; END")
    return sql


def _postgres_triggers() -> list[str]:
    # statement-level, over the transition tables: one upsert per statement (an import's
    # COPY of thousands of courses marks each of their blocks once)
    mark = ("INSERT INTO course_outcome_block (block, stale) SELECT DISTINCT {key} / {n}, true "
            "FROM {rows} ON CONFLICT (block) DO UPDATE SET stale = true")
    sql = []
    for table, column in WATCHED:
        for event, rows in (("INSERT", ("new_rows",)), ("UPDATE", ("old_rows", "new_rows")),
                            ("DELETE", ("old_rows",))):
            name = f"{table}_block_{event.lower()}"
            body = "; ".join(mark.format(key=column, n=BLOCK_COURSES, rows=r) for r in rows)
            referencing = " ".join(f"{'OLD' if r == 'old_rows' else 'NEW'} TABLE AS {r}"
                                   for r in rows)
            sql.append(f"CREATE FUNCTION {name}() RETURNS trigger AS $$ BEGIN {body}; "
                       "RETURN NULL; END $$ LANGUAGE plpgsql")
            sql.append(f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING "
                       f"{referencing} FOR EACH STATEMENT EXECUTE FUNCTION {name}()")
    sql.append(
        "CREATE FUNCTION patient_block_update() RETURNS trigger AS $$ BEGIN "
        "INSERT INTO course_outcome_block (block, stale) "
        f"SELECT DISTINCT c.id / {BLOCK_COURSES}, true FROM course c "
        "JOIN new_rows n ON n.id = c.patient_id JOIN old_rows o ON o.id = n.id "
        "WHERE o.clinic_id IS DISTINCT FROM n.clinic_id "
        "OR o.indication IS DISTINCT FROM n.indication "
        "ON CONFLICT (block) DO UPDATE SET stale = true; RETURN NULL; END $$ "
        "LANGUAGE plpgsql")
    sql.append("CREATE TRIGGER patient_block_update AFTER UPDATE ON patient REFERENCING "
               "OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
               "EXECUTE FUNCTION patient_block_update()")
    return sql


def _names() -> list[tuple[str, str]]:
    return [*((f"{table}_block_{event}", table) for table, _ in WATCHED
              for event in ("insert", "update", "delete")),
            ("patient_block_update", "patient")]


def upgrade() -> None:
    op.create_table(
        "course_outcome_block",
        sa.Column("block", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("stale", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("block"),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:  # the bodies are Arrow IPC: compressing them gains little and costs reads
        op.execute("ALTER TABLE course_outcome_block ALTER COLUMN body SET STORAGE EXTERNAL")
    for statement in (_postgres_triggers() if postgres else _sqlite_triggers()):
        op.execute(statement)
    op.execute(f"INSERT INTO course_outcome_block (block, stale) SELECT DISTINCT "
               f"course_id / {BLOCK_COURSES}, {'true' if postgres else '1'} "
               "FROM course_outcome_pack")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for name, table in _names():
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if postgres else ""))
        if postgres:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    op.drop_table("course_outcome_block")
