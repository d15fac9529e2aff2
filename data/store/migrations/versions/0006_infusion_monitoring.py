"""infusion monitoring: vitals hold decision, sedation, dissociation, discharge, adverse events

- infusion: `bp_decision` ('proceeded' when the pre-infusion blood pressure was above the
  protocol's hold rule and the infusion went ahead; NULL otherwise), `bp_decision_reason`,
  `sedation_moaas` (MOAA/S 0-5 at peak), `dissociation` (none | mild | moderate | severe),
  `discharge_ready_minutes`. Existing rows keep NULLs ("not recorded") and their
  free-text `adverse_event` note.
- adverse_event: 0..n structured events per infusion (category, description, severity
  mild | moderate | severe | serious, action taken, who and when).
- heldvisit: a visit held or rescheduled for blood pressure (no ketamine given, no
  infusion number used).

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STR = sqlmodel.sql.sqltypes.AutoString
UTC = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("infusion") as batch:
        batch.add_column(sa.Column("bp_decision", STR(length=12), nullable=True))
        batch.add_column(sa.Column("bp_decision_reason", sa.Text(), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("sedation_moaas", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("dissociation", STR(length=10), nullable=True))
        batch.add_column(sa.Column("discharge_ready_minutes", sa.Integer(), nullable=True))
    op.create_table(
        "adverseevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("infusion_id", sa.Integer(), nullable=False),
        sa.Column("category", STR(length=40), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("severity", STR(length=10), nullable=False),
        sa.Column("action_taken", sa.Text(), nullable=False),
        sa.Column("recorded_at", UTC(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["infusion_id"], ["infusion.id"]),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_adverseevent_infusion_id", "adverseevent", ["infusion_id"])
    op.create_table(
        "heldvisit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("planned_number", sa.Integer(), nullable=False),
        sa.Column("visit_on", sa.Date(), nullable=False),
        sa.Column("bp_sys", sa.Integer(), nullable=True),
        sa.Column("bp_dia", sa.Integer(), nullable=True),
        sa.Column("hr", sa.Integer(), nullable=True),
        sa.Column("spo2", sa.Integer(), nullable=True),
        sa.Column("decision", STR(length=12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_at", UTC(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["course_id"], ["course.id"]),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_heldvisit_course_id", "heldvisit", ["course_id"])


def downgrade() -> None:
    op.drop_table("heldvisit")
    op.drop_table("adverseevent")
    with op.batch_alter_table("infusion") as batch:
        for column in ("discharge_ready_minutes", "dissociation", "sedation_moaas",
                       "bp_decision_reason", "bp_decision"):
            batch.drop_column(column)
