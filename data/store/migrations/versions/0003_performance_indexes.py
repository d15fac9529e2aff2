"""performance indexes: indexes that match the reads, no duplicates (issue 7)

- ix_assessment_instrument_course (instrument, course_id) goes: no read filters on
  instrument first, and SQLite's planner (no statistics) took it for the patient record's
  item-9 history, scanning every PHQ-9 of the store (~1.5 s per record at 1M scores).
- ix_assessment_course_id becomes ix_assessment_course_instrument (course_id,
  instrument): a course's scores, or one instrument's (item-9 history, patient view).
- ix_patient_clinic_id, ix_course_patient_id, ix_infusion_course_id and
  ix_assessment_infusion_id go: the unique constraints uq_patient_code (clinic_id,
  patient_code), uq_course_number (patient_id, number), uq_infusion_number (course_id,
  number) and uq_assessment_slot (infusion_id, timepoint, instrument) already index those
  columns first, so each was a second copy to update on every insert.

docs/PERFORMANCE.md has the before/after figures.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DROPPED = (  # (index, table, columns) as 0001 created them
    ("ix_assessment_instrument_course", "assessment", ["instrument", "course_id"]),
    ("ix_assessment_course_id", "assessment", ["course_id"]),
    ("ix_assessment_infusion_id", "assessment", ["infusion_id"]),
    ("ix_infusion_course_id", "infusion", ["course_id"]),
    ("ix_course_patient_id", "course", ["patient_id"]),
    ("ix_patient_clinic_id", "patient", ["clinic_id"]),
)


def upgrade() -> None:
    for name, table, _columns in DROPPED:
        op.drop_index(name, table_name=table)
    op.create_index("ix_assessment_course_instrument", "assessment",
                    ["course_id", "instrument"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_assessment_course_instrument", table_name="assessment")
    for name, table, columns in reversed(DROPPED):
        op.create_index(name, table, columns, unique=False)
