"""A column a form also writes is declared once (issue 11 item 5): in a `...Fields` base
shared by the table and its input schema, never again in either."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from models.infusion_schema import InfusionIn
from models.monitoring_schema import AdverseEventIn
from models.schemas import CourseIn, PatientIn, ScoreIn
from models.tables import (
    AdverseEvent,
    AdverseEventFields,
    Assessment,
    Course,
    CourseFields,
    Infusion,
    InfusionFields,
    Patient,
    PatientFields,
    ScoreFields,
)

# (table, input, base, the fields the input re-declares on purpose: same type, required
# in the form where the table has a default or allows None)
PAIRS = [
    (Patient, PatientIn, PatientFields, set()),
    (Course, CourseIn, CourseFields, set()),
    (Infusion, InfusionIn, InfusionFields, {"infusion_type"}),
    (Assessment, ScoreIn, ScoreFields, set()),
    (AdverseEvent, AdverseEventIn, AdverseEventFields, set()),
]
IDS = [table.__name__ for table, *_ in PAIRS]

# Fields both classes have under one name but of different types, declared in each:
# the new-course form requires a start date (older courses have none); a score's answers
# are raw in the form and scored in the table.
DIFFERENT = {"CourseIn": {"start_date"}, "ScoreIn": {"items"}}


@pytest.mark.parametrize(("table", "schema", "base", "overrides"), PAIRS, ids=IDS)
def test_shared_fields_are_declared_once_in_the_base(table, schema, base, overrides):
    assert issubclass(table, base) and issubclass(schema, base)
    shared = set(table.model_fields) & set(schema.model_fields)
    assert shared - DIFFERENT.get(schema.__name__, set()) == set(base.model_fields)
    own_table, own_schema = set(vars(table).get("__annotations__", {})), set(
        vars(schema).get("__annotations__", {}))
    assert own_table & set(base.model_fields) == set()  # the table re-declares none
    assert own_schema & set(base.model_fields) == overrides
    for name in overrides:  # re-declared to be required, never with another type
        assert schema.__annotations__[name] == base.__annotations__[name]
        assert schema.model_fields[name].is_required()


def test_the_infusion_form_writes_every_infusion_column_it_names():
    """The form's fields are the base's 27 columns (number, date, type, route, dose, weight,
    duration; 4 vitals x 3 moments; side effects, other, note; decision, reason, MOAA/S,
    dissociation, discharge minutes) and its adverse events (rows of their own)."""
    assert len(InfusionFields.model_fields) == 7 + 12 + 3 + 5
    assert set(InfusionIn.model_fields) - set(InfusionFields.model_fields) == {"adverse_events"}
    assert InfusionIn.NOT_COLUMNS == ("adverse_events",)


@pytest.mark.parametrize(("table", "schema", "base", "overrides"), PAIRS, ids=IDS)
def test_base_columns_match_the_migrated_store(engine, table, schema, base, overrides):
    """The columns the bases declare (sizes given as sa_type, not max_length) are the ones
    the production migrations build: same length, same nullability."""
    reflected = {c["name"]: c for c in inspect(engine).get_columns(table.__tablename__)}
    for name in base.model_fields:
        column = table.__table__.c[name]
        stored = reflected[name]
        assert (getattr(column.type, "length", None), column.nullable) == (
            getattr(stored["type"], "length", None), stored["nullable"]), name


@pytest.mark.parametrize(("schema", "field", "length"), [
    (PatientIn, "patient_code", 64), (PatientIn, "name", 200), (PatientIn, "indication", 100),
    (InfusionIn, "side_effect_other", 200),
])
def test_text_limits_are_the_column_sizes(schema, field, length):
    """The form's limit and the column's size are one constant (lengths from the rules:
    patient codes 64, names 200, indication 100, other side effect 200)."""
    table = {PatientIn: Patient, InfusionIn: Infusion}[schema]
    assert table.__table__.c[field].type.length == length
