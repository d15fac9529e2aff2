"""sessions and drafts (issue 12 item 1)

- user_session: a signed-in browser session referenced by a signed cookie; the id is the
  SHA-256 (hex) of the random token the cookie carries, never the token itself.
- draft: an unsaved infusion form per user, patient and kind (unique), JSON payload.

New tables only: no batch rebuild is needed on SQLite.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STR = sqlmodel.sql.sqltypes.AutoString
UTC = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "user_session",
        sa.Column("id", STR(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("last_seen_at", UTC(), nullable=False),
        sa.Column("idle_expires_at", UTC(), nullable=False),
        sa.Column("absolute_expires_at", UTC(), nullable=False),
        sa.Column("ended_at", UTC(), nullable=True),
        sa.Column("ended_reason", STR(length=40), nullable=True),
        sa.Column("password_set_at", UTC(), nullable=True),
        sa.Column("user_agent", STR(length=120), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_user_session_user", "user_session", ["user_id", "ended_at"])
    op.create_table(
        "draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("kind", STR(length=20), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("updated_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "patient_id", "kind", name="uq_draft_user_patient_kind"),
    )
    op.create_index("ix_draft_patient_id", "draft", ["patient_id"])


def downgrade() -> None:
    op.drop_index("ix_draft_patient_id", table_name="draft")
    op.drop_table("draft")
    op.drop_index("ix_user_session_user", table_name="user_session")
    op.drop_table("user_session")
