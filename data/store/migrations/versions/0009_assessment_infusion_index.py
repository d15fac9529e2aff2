"""assessment (infusion_id) indexed again for every score

0003 dropped ix_assessment_infusion_id because uq_assessment_slot (infusion_id, timepoint,
instrument) indexed the column first; 0004 made that index partial (WHERE timepoint <>
'followup', for follow-ups), so a lookup by infusion alone (the save's "slot already
taken" check, the record, corrections, Today) could no longer use it and scanned every
score: ~100 ms of each ~130 ms save at 1.2 million scores (docs/PERFORMANCE.md,
"A save's cost no longer grows with the store"). tests/data/test_query_plans.py pins that
a save's and a record's queries use an index.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_assessment_infusion_id", "assessment", ["infusion_id"])


def downgrade() -> None:
    op.drop_index("ix_assessment_infusion_id", table_name="assessment")
