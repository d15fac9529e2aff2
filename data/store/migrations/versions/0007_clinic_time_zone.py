"""clinic time zone: each clinic's IANA zone name ("today" and the times shown)

- clinic.time_zone: an IANA name such as Europe/Berlin, validated by the service
  (data/clinic_time.check_time_zone); existing clinics get "UTC", the value the app
  assumed until now. Stored datetimes stay UTC.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    with op.batch_alter_table("clinic") as batch:
        batch.add_column(sa.Column("time_zone", STR(length=64), nullable=False,
                                   server_default="UTC"))


def downgrade() -> None:
    with op.batch_alter_table("clinic") as batch:
        batch.drop_column("time_zone")
