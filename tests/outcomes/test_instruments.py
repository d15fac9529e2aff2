"""The instrument catalogue against OUTCOMES.md section 1, as hand-written tables.

Every expectation below is copied from OUTCOMES.md (or the brief's LOINC list),
never computed by the code under test.
"""

from __future__ import annotations

import pytest

from outcomes.instruments import (
    INSTRUMENT_NAMES,
    INSTRUMENTS,
    PHQ9_ANSWER_LOINC,
    PHQ9_FUNCTIONAL_DIFFICULTY,
    SUICIDAL_IDEATION_ITEM,
    Band,
    Instrument,
    UnknownInstrumentError,
    get_instrument,
    severity,
)

# (instrument, total, band label): both edges of every band, OUTCOMES.md section 1.
BAND_EDGES = [
    ("PHQ-9", 0, "minimal"),
    ("PHQ-9", 4, "minimal"),
    ("PHQ-9", 5, "mild"),
    ("PHQ-9", 9, "mild"),
    ("PHQ-9", 10, "moderate"),
    ("PHQ-9", 14, "moderate"),
    ("PHQ-9", 15, "moderately severe"),
    ("PHQ-9", 19, "moderately severe"),
    ("PHQ-9", 20, "severe"),
    ("PHQ-9", 27, "severe"),
    ("GAD-7", 0, "minimal"),
    ("GAD-7", 4, "minimal"),
    ("GAD-7", 5, "mild"),
    ("GAD-7", 9, "mild"),
    ("GAD-7", 10, "moderate"),
    ("GAD-7", 14, "moderate"),
    ("GAD-7", 15, "severe"),
    ("GAD-7", 21, "severe"),
    ("MADRS", 0, "normal"),
    ("MADRS", 6, "normal"),
    ("MADRS", 7, "mild"),
    ("MADRS", 19, "mild"),
    ("MADRS", 20, "moderate"),
    ("MADRS", 34, "moderate"),
    ("MADRS", 35, "severe"),
    ("MADRS", 60, "severe"),
    ("QIDS-SR16", 0, "none"),
    ("QIDS-SR16", 5, "none"),
    ("QIDS-SR16", 6, "mild"),
    ("QIDS-SR16", 10, "mild"),
    ("QIDS-SR16", 11, "moderate"),
    ("QIDS-SR16", 15, "moderate"),
    ("QIDS-SR16", 16, "severe"),
    ("QIDS-SR16", 20, "severe"),
    ("QIDS-SR16", 21, "very severe"),
    ("QIDS-SR16", 27, "very severe"),
    ("PCL-5", 0, "below provisional cut-off"),
    ("PCL-5", 30, "below provisional cut-off"),
    ("PCL-5", 31, "at or above cut-off"),
    ("PCL-5", 80, "at or above cut-off"),
]


@pytest.mark.parametrize(("name", "total", "label"), BAND_EDGES)
def test_severity_band_edges(name: str, total: int, label: str) -> None:
    assert severity(name, total) == label
    assert severity(INSTRUMENTS[name], total) == label


@pytest.mark.parametrize(
    ("name", "total"),
    [
        ("PHQ-9", -1),
        ("PHQ-9", 28),
        ("GAD-7", 22),
        ("MADRS", 61),
        ("QIDS-SR16", 28),
        ("PCL-5", 81),
    ],
)
def test_severity_outside_total_range_is_rejected(name: str, total: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        severity(name, total)


@pytest.mark.parametrize("total", [2.5, "10", True, None])
def test_severity_of_a_non_integer_is_rejected(total: object) -> None:
    with pytest.raises(ValueError, match="not an integer"):
        severity("PHQ-9", total)  # type: ignore[arg-type]


# (name, respondent, recall, n items, item range, total range, remission max, RCI,
#  caseness, items that may be missing): OUTCOMES.md sections 1 and 2 (S2).
CONSTANTS = [
    ("PHQ-9", "patient", "last 2 weeks", 9, (0, 3), (0, 27), 4, 6, 10, 2),
    ("GAD-7", "patient", "last 2 weeks", 7, (0, 3), (0, 21), 4, 4, 8, 1),
    ("MADRS", "clinician", "last 7 days", 10, (0, 6), (0, 60), 10, None, None, 0),
    ("QIDS-SR16", "patient", "last 7 days", 16, (0, 3), (0, 27), 5, None, None, 0),
    ("PCL-5", "patient", "past month", 20, (0, 4), (0, 80), None, None, None, 0),
]


@pytest.mark.parametrize(
    (
        "name",
        "respondent",
        "recall",
        "n_items",
        "item_range",
        "total_range",
        "remission_max",
        "rci",
        "case_min",
        "max_missing",
    ),
    CONSTANTS,
)
def test_instrument_constants(
    name: str,
    respondent: str,
    recall: str,
    n_items: int,
    item_range: tuple[int, int],
    total_range: tuple[int, int],
    remission_max: int | None,
    rci: int | None,
    case_min: int | None,
    max_missing: int,
) -> None:
    inst = INSTRUMENTS[name]
    assert inst.name == name
    assert inst.respondent == respondent
    assert inst.recall == recall
    assert inst.n_items == n_items
    assert [item.number for item in inst.items] == list(range(1, n_items + 1))
    assert (inst.item_min, inst.item_max) == item_range
    assert (inst.total_min, inst.total_max) == total_range
    assert inst.remission_max == remission_max
    assert inst.rci == rci
    assert inst.case_min == case_min
    assert inst.max_missing == max_missing
    assert "OUTCOMES.md" in inst.source


@pytest.mark.parametrize("inst", INSTRUMENTS.values(), ids=INSTRUMENT_NAMES)
def test_bands_tile_the_total_range_without_gaps(inst: Instrument) -> None:
    assert inst.bands[0].low == inst.total_min
    assert inst.bands[-1].high == inst.total_max
    for lower, upper in zip(inst.bands, inst.bands[1:], strict=False):
        assert upper.low == lower.high + 1


@pytest.mark.parametrize("inst", INSTRUMENTS.values(), ids=INSTRUMENT_NAMES)
def test_one_answer_label_per_answer_value(inst: Instrument) -> None:
    assert len(inst.answer_labels) == inst.item_max - inst.item_min + 1


def test_catalogue_order_and_names() -> None:
    assert INSTRUMENT_NAMES == ("PHQ-9", "GAD-7", "MADRS", "QIDS-SR16", "PCL-5")
    assert tuple(INSTRUMENTS) == INSTRUMENT_NAMES


@pytest.mark.parametrize(
    ("name", "labels"),
    [
        ("PHQ-9", ("Not at all", "Several days", "More than half the days", "Nearly every day")),
        ("GAD-7", ("Not at all", "Several days", "More than half the days", "Nearly every day")),
        ("PCL-5", ("Not at all", "A little bit", "Moderately", "Quite a bit", "Extremely")),
    ],
)
def test_public_domain_answer_labels(name: str, labels: tuple[str, ...]) -> None:
    assert INSTRUMENTS[name].answer_labels == labels


@pytest.mark.parametrize(
    ("name", "number", "label"),
    [
        ("MADRS", 1, "Apparent sadness"),
        ("MADRS", 10, "Suicidal thoughts"),
        ("QIDS-SR16", 1, "Sleep onset insomnia"),
        ("QIDS-SR16", 16, "Feeling restless"),
    ],
)
def test_copyrighted_instruments_carry_short_labels(name: str, number: int, label: str) -> None:
    inst = INSTRUMENTS[name]
    assert inst.items[number - 1].text == label
    # A short label, never the published item wording.
    assert all(len(item.text) <= 40 for item in inst.items)


@pytest.mark.parametrize(
    ("name", "number", "start"),
    [
        ("PHQ-9", 1, "Little interest or pleasure in doing things"),
        ("PHQ-9", 9, "Thoughts that you would be better off dead or of hurting yourself"),
        ("GAD-7", 1, "Feeling nervous, anxious, or on edge"),
        ("GAD-7", 7, "Feeling afraid, as if something awful might happen"),
        ("PCL-5", 1, "Repeated, disturbing, and unwanted memories"),
        ("PCL-5", 20, "Trouble falling or staying asleep"),
    ],
)
def test_public_domain_item_wording(name: str, number: int, start: str) -> None:
    assert INSTRUMENTS[name].items[number - 1].text.startswith(start)


PHQ9_ITEM_LOINC = (
    "44250-9", "44255-8", "44259-0", "44254-1", "44251-7",
    "44258-2", "44252-5", "44253-3", "44260-8",
)  # fmt: skip
GAD7_ITEM_LOINC = ("69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7")


@pytest.mark.parametrize(
    ("name", "panel", "total", "item_codes"),
    [
        ("PHQ-9", "44249-1", "44261-6", PHQ9_ITEM_LOINC),
        ("GAD-7", "69737-5", "70274-6", GAD7_ITEM_LOINC),
        ("MADRS", None, None, (None,) * 10),
        ("QIDS-SR16", None, None, (None,) * 16),
        ("PCL-5", None, None, (None,) * 20),
    ],
)
def test_loinc_codes(
    name: str, panel: str | None, total: str | None, item_codes: tuple[str | None, ...]
) -> None:
    inst = INSTRUMENTS[name]
    assert inst.loinc_panel == panel
    assert inst.loinc_total == total
    assert tuple(item.loinc for item in inst.items) == item_codes


def test_phq9_functional_difficulty_question() -> None:
    assert PHQ9_FUNCTIONAL_DIFFICULTY.number == 10
    assert PHQ9_FUNCTIONAL_DIFFICULTY.loinc == "69722-7"
    assert PHQ9_FUNCTIONAL_DIFFICULTY.text.startswith("If you checked off any problems")


def test_phq9_answer_loinc_codes_by_value() -> None:
    assert PHQ9_ANSWER_LOINC == ("LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9")


def test_suicidal_ideation_item_is_phq9_item_9() -> None:
    assert SUICIDAL_IDEATION_ITEM == 9
    item = INSTRUMENTS["PHQ-9"].items[SUICIDAL_IDEATION_ITEM - 1]
    assert item.number == 9
    assert "better off dead" in item.text


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("PHQ-9", "PHQ-9"),
        ("phq9", "PHQ-9"),
        ("PHQ 9", "PHQ-9"),
        (" phq-9 ", "PHQ-9"),
        ("PHQ_9", "PHQ-9"),
        ("GAD-7", "GAD-7"),
        ("gad-7", "GAD-7"),
        ("GAD7", "GAD-7"),
        ("MADRS", "MADRS"),
        ("madrs", "MADRS"),
        ("QIDS-SR16", "QIDS-SR16"),
        ("qids-sr16", "QIDS-SR16"),
        ("QIDS SR16", "QIDS-SR16"),
        ("QIDS-SR", "QIDS-SR16"),
        ("QIDS", "QIDS-SR16"),
        ("QIDS16", "QIDS-SR16"),
        ("PCL-5", "PCL-5"),
        ("pcl5", "PCL-5"),
        ("PCL 5", "PCL-5"),
    ],
)
def test_name_lookup_variants(given: str, canonical: str) -> None:
    assert get_instrument(given).name == canonical


def test_lookup_accepts_an_instrument() -> None:
    inst = INSTRUMENTS["GAD-7"]
    assert get_instrument(inst) is inst


@pytest.mark.parametrize("given", ["BDI-II", "PHQ", "PHQ-8", "GAD", "", "MADRS-S", None, 9])
def test_unknown_instrument_names_the_value_and_the_allowed_names(given: object) -> None:
    with pytest.raises(UnknownInstrumentError) as caught:
        get_instrument(given)  # type: ignore[arg-type]
    message = str(caught.value)
    assert repr(given) in message
    assert "PHQ-9, GAD-7, MADRS, QIDS-SR16, PCL-5" in message
    assert isinstance(caught.value, ValueError)


def test_unknown_instrument_message_example() -> None:
    with pytest.raises(UnknownInstrumentError) as caught:
        severity("BDI-II", 10)
    assert str(caught.value) == (
        "Unknown instrument 'BDI-II'; allowed instruments are PHQ-9, GAD-7, MADRS, QIDS-SR16, PCL-5"
    )


def test_band_edges_are_inclusive() -> None:
    band = Band(5, 9, "mild")
    assert band.contains(5)
    assert band.contains(9)
    assert not band.contains(4)
    assert not band.contains(10)
