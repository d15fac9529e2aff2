"""course_outcome.packed: the lean facts of a row in one binary value

The summary's read asks the driver for the course id and this one value per row instead of
twelve values (data/analytics/fact_pack.py, docs/PERFORMANCE.md). The rows already kept are
packed here from their own columns, in batches (the encoder is the application's, format
version 1; a later format would come with its own migration).

Revision ID: 0010
Revises: 0009
"""

import json
from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000


def upgrade() -> None:
    from data.analytics import fact_pack
    from outcomes.course_facts import MAP_COLUMNS

    op.add_column("course_outcome", sa.Column("packed", sa.LargeBinary(), nullable=True))
    table = sa.table("course_outcome", *(sa.column(name) for name in (
        "course_id", "instrument", "first_infusion_date", *fact_pack.FLAGS, *fact_pack.FLOATS,
        *MAP_COLUMNS)), sa.column("packed", sa.LargeBinary()))
    bind = op.get_bind()
    last = -1
    while True:  # by course id: a batch's update does not disturb the next read
        rows = bind.execute(sa.select(table).where(table.c.course_id > last)
                            .order_by(table.c.course_id).limit(BATCH)).mappings().all()
        if not rows:
            break
        last = rows[-1]["course_id"]
        more = bind.execute(sa.select(table).where(table.c.course_id == last)).mappings().all()
        seen = {(r["course_id"], r["instrument"]) for r in rows}
        rows = [*rows, *(r for r in more if (r["course_id"], r["instrument"]) not in seen)]
        updates = []
        for row in rows:
            facts = dict(row)
            for name in MAP_COLUMNS:
                value = facts[name]
                facts[name] = json.loads(value) if isinstance(value, str) else value
            first = facts["first_infusion_date"]
            if isinstance(first, str):
                first = date.fromisoformat(first[:10])
            day = None if first is None else (first - date(1970, 1, 1)).days
            packed = fact_pack.encode(row["course_id"], row["instrument"], facts, day)
            updates.append({"c": row["course_id"], "i": row["instrument"], "p": packed})
        bind.execute(table.update()
                     .where(table.c.course_id == sa.bindparam("c"),
                            table.c.instrument == sa.bindparam("i"))
                     .values(packed=sa.bindparam("p")), updates)


def downgrade() -> None:
    with op.batch_alter_table("course_outcome") as batch:
        batch.drop_column("packed")
