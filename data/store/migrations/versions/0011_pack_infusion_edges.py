"""course_outcome_pack: each course's first infusion's clinician and route and its last
infusion's number and date

The summary's read of the courses took them by seeking each course's first and last
infusion (at XL on PostgreSQL, 2.0 and 1.1 s of the read's 3.6 s); the refresh that writes a
course's pack now copies them from its infusions (data/analytics/course_outcomes
.infusion_edges, docs/PERFORMANCE.md). Here the kept packs get them from the infusions.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (("first_clinician_id", sa.Integer(), "clinician_id", "number"),
           ("first_clinician_code", sa.String(80), "clinician_code", "number"),
           ("first_route", sa.String(20), "route", "number"),
           ("last_infusion", sa.Integer(), "number", "number DESC"),
           ("last_administered_on", sa.Date(), "administered_on", "number DESC"))


def upgrade() -> None:
    with op.batch_alter_table("course_outcome_pack") as batch:
        for name, kind, _, _ in COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
    edges = ", ".join(
        f"{name} = (SELECT i.{column} FROM infusion i WHERE i.course_id = "
        f"course_outcome_pack.course_id ORDER BY i.{order} LIMIT 1)"
        for name, _, column, order in COLUMNS)
    op.execute(f"UPDATE course_outcome_pack SET {edges}")


def downgrade() -> None:
    with op.batch_alter_table("course_outcome_pack") as batch:
        for name, _, _, _ in reversed(COLUMNS):
            batch.drop_column(name)
