"""self-report: follow-up scores, provenance, invitations, on-call outbox (issue 10)

- assessment: timepoint widened for `followup` (OUTCOMES.md C4); `source` widened to the
  provenance values clinician | patient_kiosk | patient_remote | import (old `form` and
  `seed` become `clinician`); `completed_at` (when the questionnaire was answered). The
  unique slot becomes two partial unique indexes: one pre and one post score per
  (infusion, instrument), one follow-up per (course, instrument, date).
- safetyalert: `kind` (positive | not_answered: "prefers not to answer" item 9, section 1);
  item9_value may be NULL for the latter.
- clinic: the crisis text patients see and the on-call e-mail / webhook.
- invitation: links (token hash only) and kiosk hand-overs; outbox: notifications queued
  with the alert, delivered by `manage.py deliver`.

SQLite rebuilds the assessment and safetyalert tables (batch mode); data/store/migrate.py turns
foreign keys off around the migration and checks them before committing.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STR = sqlmodel.sql.sqltypes.AutoString
UTC = sqlmodel.sql.sqltypes.UTCDateTime
NOT_FOLLOWUP = sa.text("timepoint <> 'followup'")
FOLLOWUP = sa.text("timepoint = 'followup'")


def upgrade() -> None:
    with op.batch_alter_table("clinic") as batch:
        batch.add_column(sa.Column("crisis_text", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("oncall_email", STR(length=254), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("oncall_webhook", STR(length=500), nullable=False,
                                   server_default=""))
    with op.batch_alter_table("assessment") as batch:
        batch.drop_constraint("uq_assessment_slot", type_="unique")
        batch.alter_column("timepoint", type_=STR(length=8), existing_type=STR(length=4),
                           existing_nullable=False)
        batch.alter_column("source", type_=STR(length=16), existing_type=STR(length=10),
                           existing_nullable=False)
        batch.add_column(sa.Column("completed_at", UTC(), nullable=True))
    op.execute("UPDATE assessment SET source = 'clinician' WHERE source IN ('form', 'seed')")
    op.execute("UPDATE assessment SET completed_at = entered_at WHERE source = 'clinician'")
    op.create_index("uq_assessment_slot", "assessment", ["infusion_id", "timepoint",
                    "instrument"], unique=True, sqlite_where=NOT_FOLLOWUP,
                    postgresql_where=NOT_FOLLOWUP)
    op.create_index("uq_assessment_followup", "assessment", ["course_id", "instrument",
                    "administered_on"], unique=True, sqlite_where=FOLLOWUP,
                    postgresql_where=FOLLOWUP)
    with op.batch_alter_table("safetyalert") as batch:
        batch.add_column(sa.Column("kind", STR(length=16), nullable=False,
                                   server_default="positive"))
        batch.alter_column("item9_value", existing_type=sa.Integer(), nullable=True)
    _create_invitation()
    _create_outbox()


def _create_invitation() -> None:
    op.create_table(
        "invitation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", STR(length=64), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("infusion_number", sa.Integer(), nullable=False),
        sa.Column("occasion", STR(length=8), nullable=False),
        sa.Column("instruments", sa.JSON(), nullable=False),
        sa.Column("channel", STR(length=8), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("schedule_rule", STR(length=40), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("expires_at", UTC(), nullable=False),
        sa.Column("sent_at", UTC(), nullable=True),
        sa.Column("opened_at", UTC(), nullable=True),
        sa.Column("completed_at", UTC(), nullable=True),
        sa.Column("revoked_at", UTC(), nullable=True),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"]),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"]),
        sa.ForeignKeyConstraint(["course_id"], ["course.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_invitation_patient", "invitation", ["patient_id", "created_at"])
    op.create_index("ix_invitation_clinic_id", "invitation", ["clinic_id"])


def _create_outbox() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("channel", STR(length=8), nullable=False),
        sa.Column("target", STR(length=500), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", STR(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC(), nullable=False),
        sa.Column("last_error", STR(length=500), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("delivered_at", UTC(), nullable=True),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"]),
        sa.ForeignKeyConstraint(["alert_id"], ["safetyalert.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_outbox_pending", "outbox", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("invitation")
    with op.batch_alter_table("safetyalert") as batch:
        batch.drop_column("kind")
    op.drop_index("uq_assessment_followup", table_name="assessment")
    op.drop_index("uq_assessment_slot", table_name="assessment")
    op.execute("DELETE FROM assessment WHERE timepoint = 'followup'")
    with op.batch_alter_table("assessment") as batch:
        batch.drop_column("completed_at")
        batch.create_unique_constraint("uq_assessment_slot",
                                       ["infusion_id", "timepoint", "instrument"])
    with op.batch_alter_table("clinic") as batch:
        for column in ("oncall_webhook", "oncall_email", "crisis_text"):
            batch.drop_column(column)
