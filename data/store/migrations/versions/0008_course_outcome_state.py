"""course outcome state: per (course, instrument) reduced outcome facts, and the stale queue
(issue 13 item 1, data/analytics/course_outcomes.py)

- course_outcome: what the outcome rules need per (course, instrument) (models/tables.py).
- course_outcome_stale: courses to recompute on the next read. Every course with a score is
  queued here, so the first read after the upgrade builds the table (or run
  `python manage.py rebuild-outcomes` once after upgrading, which is quicker on a large store).

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "course_outcome",
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("instrument", STR(length=12), nullable=False),
        sa.Column("first_infusion_date", sa.Date(), nullable=True),
        sa.Column("baseline", sa.Float(), nullable=True),
        sa.Column("baseline_infusion", sa.Integer(), nullable=True),
        sa.Column("baseline_date", sa.Date(), nullable=True),
        sa.Column("baseline_item9", sa.Float(), nullable=True),
        sa.Column("latest", sa.Float(), nullable=True),
        sa.Column("latest_infusion", sa.Integer(), nullable=True),
        sa.Column("latest_timepoint", STR(length=8), nullable=True),
        sa.Column("latest_received", sa.Integer(), nullable=True),
        sa.Column("latest_date", sa.Date(), nullable=True),
        sa.Column("last_received", sa.Float(), nullable=True),
        sa.Column("first_response_received", sa.Float(), nullable=True),
        sa.Column("first_remission_received", sa.Float(), nullable=True),
        sa.Column("remission_steps", sa.JSON(), nullable=True),
        sa.Column("post_totals", sa.JSON(), nullable=True),
        sa.Column("pre_totals", sa.JSON(), nullable=True),
        sa.Column("post_item9", sa.JSON(), nullable=True),
        sa.Column("pre_item9", sa.JSON(), nullable=True),
        sa.Column("any_item9_positive", sa.Boolean(), nullable=False),
        sa.Column("later_item9_positive", sa.Boolean(), nullable=False),
        sa.Column("day_after_checked", sa.Boolean(), nullable=False),
        sa.Column("day_after_item9", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("course_id", "instrument"),
    )
    op.create_table(
        "course_outcome_stale",
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("course_id"),
    )
    op.execute("INSERT INTO course_outcome_stale (course_id, generation) "
               "SELECT DISTINCT course_id, 1 FROM assessment")


def downgrade() -> None:
    op.drop_table("course_outcome_stale")
    op.drop_table("course_outcome")
