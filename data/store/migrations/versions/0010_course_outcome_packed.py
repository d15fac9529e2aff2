"""course_outcome_pack: each course's lean outcome facts in two binary values; infusions
indexed by (course, number, date)

The summary reads a course's pack with the course (one row per course) instead of its
course_outcome rows, twelve values each (data/analytics/fact_pack.py, docs/PERFORMANCE.md).
ix_infusion_course_number_date gives each course's last infusion and its date (D1
retention) from one seek of an index, where uq_infusion_number needed a second seek into
the table for the date.
The packs of the rows already kept are made here from their own columns, a batch of
courses at a time (the encoder is the application's, format version 1; a later format
would come with its own migration).

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

COURSES = 2000  # courses packed per batch


def upgrade() -> None:
    from data.analytics import fact_pack
    from outcomes.course_facts import MAP_COLUMNS

    op.create_index("ix_infusion_course_number_date", "infusion",
                    ["course_id", "number", "administered_on"])
    op.create_table(
        "course_outcome_pack",
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("headers", sa.LargeBinary(), nullable=True),
        sa.Column("maps", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("course_id"),
    )
    rows_table = sa.table("course_outcome", *(sa.column(name) for name in (
        "course_id", "instrument", "first_infusion_date", *fact_pack.FLAGS, *fact_pack.FLOATS,
        *MAP_COLUMNS)))
    packs = sa.table("course_outcome_pack", sa.column("course_id"),
                     sa.column("headers", sa.LargeBinary()), sa.column("maps", sa.LargeBinary()))
    bind = op.get_bind()
    ids = list(bind.execute(sa.select(rows_table.c.course_id).distinct()
                            .order_by(rows_table.c.course_id)).scalars())
    for start in range(0, len(ids), COURSES):
        low, high = ids[start], ids[min(start + COURSES, len(ids)) - 1]
        by_course: dict[int, list] = {}
        for row in bind.execute(sa.select(rows_table).where(
                rows_table.c.course_id.between(low, high))).mappings():
            facts = dict(row)
            for name in MAP_COLUMNS:
                value = facts[name]
                facts[name] = json.loads(value) if isinstance(value, str) else value
            first = facts["first_infusion_date"]
            if isinstance(first, str):
                first = date.fromisoformat(first[:10])
            day = None if first is None else (first - date(1970, 1, 1)).days
            by_course.setdefault(row["course_id"], []).append((row["instrument"], facts, day))
        values = []
        for course, rows in by_course.items():
            packed = fact_pack.encode(rows)
            headers, maps = packed if packed is not None else (None, None)
            values.append({"course_id": course, "headers": headers, "maps": maps})
        if values:
            bind.execute(sa.insert(packs), values)


def downgrade() -> None:
    op.drop_table("course_outcome_pack")
    op.drop_index("ix_infusion_course_number_date", table_name="infusion")
