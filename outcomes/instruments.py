"""The instrument catalogue: items, ranges, bands and cut-offs, each stated once.

Every constant here comes from OUTCOMES.md section 1 (Instruments); each
instrument's ``source`` names the publication behind it. Scoring rules that use
these constants (proration, totals) live in ``outcomes.scoring`` (OUTCOMES.md
section 2).

Item wording is reproduced only for public-domain instruments (PHQ-9, GAD-7,
PCL-5). MADRS and QIDS-SR16 are copyrighted: their items carry short domain
labels, never the published item text.

This module is pure: stdlib only, no project imports (ARCHITECTURE.md).
"""

from __future__ import annotations

import numbers
import re
from dataclasses import dataclass

__all__ = [
    "INSTRUMENTS",
    "INSTRUMENT_NAMES",
    "PHQ9_ANSWER_LOINC",
    "PHQ9_FUNCTIONAL_DIFFICULTY",
    "PHQ9_FUNCTIONAL_DIFFICULTY_LABELS",
    "SUICIDAL_IDEATION_ITEM",
    "Band",
    "Instrument",
    "Item",
    "UnknownInstrumentError",
    "get_instrument",
    "severity",
]


@dataclass(frozen=True)
class Band:
    """A severity band; ``low`` and ``high`` are both inclusive."""

    low: int
    high: int
    label: str

    def contains(self, total: int) -> bool:
        """True when ``low <= total <= high``."""
        return self.low <= total <= self.high


@dataclass(frozen=True)
class Item:
    """One questionnaire item: its 1-based number, wording or label, LOINC code."""

    number: int
    text: str
    loinc: str | None


@dataclass(frozen=True)
class Instrument:
    """One rating scale and every constant the app uses for it (OUTCOMES.md section 1)."""

    name: str
    title: str
    respondent: str
    recall: str
    items: tuple[Item, ...]
    item_min: int
    item_max: int
    answer_labels: tuple[str, ...]
    total_min: int
    total_max: int
    bands: tuple[Band, ...]
    remission_max: int | None
    rci: int | None
    case_min: int | None
    max_missing: int
    loinc_panel: str | None
    loinc_total: str | None
    source: str

    @property
    def n_items(self) -> int:
        """Number of scored items."""
        return len(self.items)


def _items(
    texts: tuple[str, ...], loincs: tuple[str | None, ...] | None = None
) -> tuple[Item, ...]:
    codes = loincs if loincs is not None else (None,) * len(texts)
    return tuple(
        Item(n, text, code) for n, (text, code) in enumerate(zip(texts, codes, strict=True), 1)
    )


def _bands(*spec: tuple[int, int, str]) -> tuple[Band, ...]:
    return tuple(Band(low, high, label) for low, high, label in spec)


# --- PHQ-9 (public domain) -------------------------------------------------

_FREQUENCY_LABELS = ("Not at all", "Several days", "More than half the days", "Nearly every day")

_PHQ9_TEXTS = (
    "Little interest or pleasure in doing things",
    "Feeling down, depressed, or hopeless",
    "Trouble falling or staying asleep, or sleeping too much",
    "Feeling tired or having little energy",
    "Poor appetite or overeating",
    "Feeling bad about yourself - or that you are a failure or have let yourself "
    "or your family down",
    "Trouble concentrating on things, such as reading the newspaper or watching television",
    "Moving or speaking so slowly that other people could have noticed? Or the opposite - "
    "being so fidgety or restless that you have been moving around a lot more than usual",
    "Thoughts that you would be better off dead or of hurting yourself in some way",
)
_PHQ9_LOINC = (
    "44250-9", "44255-8", "44259-0", "44254-1", "44251-7",
    "44258-2", "44252-5", "44253-3", "44260-8",
)  # fmt: skip

PHQ9 = Instrument(
    name="PHQ-9",
    title="Patient Health Questionnaire-9",
    respondent="patient",
    recall="last 2 weeks",
    items=_items(_PHQ9_TEXTS, _PHQ9_LOINC),
    item_min=0,
    item_max=3,
    answer_labels=_FREQUENCY_LABELS,
    total_min=0,
    total_max=27,
    bands=_bands(
        (0, 4, "minimal"),
        (5, 9, "mild"),
        (10, 14, "moderate"),
        (15, 19, "moderately severe"),
        (20, 27, "severe"),
    ),
    remission_max=4,
    rci=6,
    case_min=10,
    max_missing=2,
    loinc_panel="44249-1",
    loinc_total="44261-6",
    source=(
        "OUTCOMES.md section 1. Kroenke K, Spitzer RL, Williams JBW. The PHQ-9: validity of a "
        "brief depression severity measure. J Gen Intern Med 2001;16:606-613 (bands). RCI 6 and "
        "caseness >= 10: NHS Talking Therapies Manual. Proration of up to 2 missing items: "
        "OUTCOMES.md S2. LOINC panel 44249-1. Public domain (Pfizer)."
    ),
)

PHQ9_FUNCTIONAL_DIFFICULTY = Item(
    number=10,
    text=(
        "If you checked off any problems, how difficult have these problems made it for you to "
        "do your work, take care of things at home, or get along with other people?"
    ),
    loinc="69722-7",
)
"""PHQ-9 question 10: answered 0-3, never part of the total (OUTCOMES.md section 1)."""

PHQ9_FUNCTIONAL_DIFFICULTY_LABELS = (
    "Not difficult at all",
    "Somewhat difficult",
    "Very difficult",
    "Extremely difficult",
)

PHQ9_ANSWER_LOINC = ("LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9")
"""LOINC answer codes for PHQ-9 answers 0, 1, 2, 3 (index == answer value)."""

SUICIDAL_IDEATION_ITEM = 9
"""PHQ-9 item 9 is the suicidal-ideation item: positive when its answer is >= 1."""

# --- GAD-7 (public domain) -------------------------------------------------

GAD7 = Instrument(
    name="GAD-7",
    title="Generalized Anxiety Disorder-7",
    respondent="patient",
    recall="last 2 weeks",
    items=_items(
        (
            "Feeling nervous, anxious, or on edge",
            "Not being able to stop or control worrying",
            "Worrying too much about different things",
            "Trouble relaxing",
            "Being so restless that it is hard to sit still",
            "Becoming easily annoyed or irritable",
            "Feeling afraid, as if something awful might happen",
        ),
        ("69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7"),
    ),
    item_min=0,
    item_max=3,
    answer_labels=_FREQUENCY_LABELS,
    total_min=0,
    total_max=21,
    bands=_bands((0, 4, "minimal"), (5, 9, "mild"), (10, 14, "moderate"), (15, 21, "severe")),
    remission_max=4,
    rci=4,
    case_min=8,
    max_missing=1,
    loinc_panel="69737-5",
    loinc_total="70274-6",
    source=(
        "OUTCOMES.md section 1. Spitzer RL, Kroenke K, Williams JBW, Lowe B. A brief measure for "
        "assessing generalized anxiety disorder: the GAD-7. Arch Intern Med 2006;166:1092-1097 "
        "(bands). RCI 4 and caseness >= 8: NHS Talking Therapies Manual. Proration of 1 missing "
        "item is a convention (OUTCOMES.md S2). LOINC panel 69737-5. Public domain (Pfizer)."
    ),
)

# --- MADRS (copyrighted: short labels only) --------------------------------

MADRS = Instrument(
    name="MADRS",
    title="Montgomery-Asberg Depression Rating Scale",
    respondent="clinician",
    recall="last 7 days",
    items=_items(
        (
            "Apparent sadness",
            "Reported sadness",
            "Inner tension",
            "Reduced sleep",
            "Reduced appetite",
            "Concentration difficulties",
            "Lassitude",
            "Inability to feel",
            "Pessimistic thoughts",
            "Suicidal thoughts",
        )
    ),
    item_min=0,
    item_max=6,
    answer_labels=("0 (none)", "1", "2", "3", "4", "5", "6 (most severe)"),
    total_min=0,
    total_max=60,
    bands=_bands((0, 6, "normal"), (7, 19, "mild"), (20, 34, "moderate"), (35, 60, "severe")),
    remission_max=10,
    rci=None,
    case_min=None,
    max_missing=0,
    loinc_panel=None,
    loinc_total=None,
    source=(
        "OUTCOMES.md section 1. Montgomery SA, Asberg M. A new depression scale designed to be "
        "sensitive to change. Br J Psychiatry 1979;134:382-389. Bands as in Snaith RP et al. "
        "Br J Psychiatry 1986;148:599-601. Remission <= 10 is the default of a setting (trials "
        "also use < 10 and <= 12). Copyrighted: item text not reproduced."
    ),
)

# --- QIDS-SR16 (copyrighted: short labels only) ----------------------------

QIDS_SR16 = Instrument(
    name="QIDS-SR16",
    title="Quick Inventory of Depressive Symptomatology, Self-Report (16 items)",
    respondent="patient",
    recall="last 7 days",
    items=_items(
        (
            "Sleep onset insomnia",
            "Mid-nocturnal insomnia",
            "Early morning insomnia",
            "Hypersomnia",
            "Sad mood",
            "Decreased appetite",
            "Increased appetite",
            "Decreased weight",
            "Increased weight",
            "Concentration / decision making",
            "View of myself",
            "Thoughts of death or suicide",
            "General interest",
            "Energy level",
            "Feeling slowed down",
            "Feeling restless",
        )
    ),
    item_min=0,
    item_max=3,
    answer_labels=("0 (none)", "1 (mild)", "2 (moderate)", "3 (severe)"),
    total_min=0,
    total_max=27,
    bands=_bands(
        (0, 5, "none"),
        (6, 10, "mild"),
        (11, 15, "moderate"),
        (16, 20, "severe"),
        (21, 27, "very severe"),
    ),
    remission_max=5,
    rci=None,
    case_min=None,
    max_missing=0,
    loinc_panel=None,
    loinc_total=None,
    source=(
        "OUTCOMES.md section 1. Rush AJ, Trivedi MH, Ibrahim HM, et al. "
        "Biol Psychiatry 2003;54:573-583 (bands; total = max(1-4) + 5 + max(6-9) + 10 "
        "+ 11 + 12 + 13 + 14 + max(15-16)); S2: a domain scores its highest answered item, "
        "a total needs an answer in each of the 9 domains. "
        "Copyrighted: item text not reproduced."
    ),
)

# --- PCL-5 (public domain) -------------------------------------------------

PCL5 = Instrument(
    name="PCL-5",
    title="PTSD Checklist for DSM-5",
    respondent="patient",
    recall="past month",
    items=_items(
        (
            "Repeated, disturbing, and unwanted memories of the stressful experience?",
            "Repeated, disturbing dreams of the stressful experience?",
            "Suddenly feeling or acting as if the stressful experience were actually happening "
            "again (as if you were actually back there reliving it)?",
            "Feeling very upset when something reminded you of the stressful experience?",
            "Having strong physical reactions when something reminded you of the stressful "
            "experience (for example, heart pounding, trouble breathing, sweating)?",
            "Avoiding memories, thoughts, or feelings related to the stressful experience?",
            "Avoiding external reminders of the stressful experience (for example, people, "
            "places, conversations, activities, objects, or situations)?",
            "Trouble remembering important parts of the stressful experience?",
            "Having strong negative beliefs about yourself, other people, or the world (for "
            "example, having thoughts such as: I am bad, there is something seriously wrong "
            "with me, no one can be trusted, the world is completely dangerous)?",
            "Blaming yourself or someone else for the stressful experience or what happened "
            "after it?",
            "Having strong negative feelings such as fear, horror, anger, guilt, or shame?",
            "Loss of interest in activities that you used to enjoy?",
            "Feeling distant or cut off from other people?",
            "Trouble experiencing positive feelings (for example, being unable to feel happiness "
            "or have loving feelings for people close to you)?",
            "Irritable behavior, angry outbursts, or acting aggressively?",
            "Taking too many risks or doing things that could cause you harm?",
            'Being "superalert" or watchful or on guard?',
            "Feeling jumpy or easily startled?",
            "Having difficulty concentrating?",
            "Trouble falling or staying asleep?",
        )
    ),
    item_min=0,
    item_max=4,
    answer_labels=("Not at all", "A little bit", "Moderately", "Quite a bit", "Extremely"),
    total_min=0,
    total_max=80,
    bands=_bands((0, 30, "below provisional cut-off"), (31, 80, "at or above cut-off")),
    remission_max=None,
    rci=None,
    case_min=None,
    max_missing=0,
    loinc_panel=None,
    loinc_total=None,
    source=(
        "OUTCOMES.md section 1. Weathers FW, Litz BT, Keane TM, et al. The PTSD Checklist for "
        "DSM-5 (PCL-5), National Center for PTSD, 2013. Provisional cut-off 31-33: Bovin MJ et "
        "al. Psychol Assess 2016;28:1379-1391; the app uses 31. Public domain."
    ),
)

INSTRUMENTS: dict[str, Instrument] = {i.name: i for i in (PHQ9, GAD7, MADRS, QIDS_SR16, PCL5)}
"""Every instrument the app scores, keyed by canonical name, in display order."""

INSTRUMENT_NAMES: tuple[str, ...] = tuple(INSTRUMENTS)

# Names compared after upper-casing and dropping spaces, hyphens, underscores and
# dots, so 'phq9', 'PHQ 9', 'gad-7' and 'qids_sr16' all resolve. 'QIDS' and
# 'QIDS-SR' mean the QIDS-SR16: it is the only QIDS version the app knows.
_ALIASES: dict[str, str] = {
    **{re.sub(r"[\s\-_.]", "", name).upper(): name for name in INSTRUMENT_NAMES},
    "QIDS": "QIDS-SR16",
    "QIDSSR": "QIDS-SR16",
    "QIDS16": "QIDS-SR16",
}


class UnknownInstrumentError(ValueError):
    """An instrument name that is not in the catalogue."""

    def __init__(self, value: object) -> None:
        self.value = value
        allowed = ", ".join(INSTRUMENT_NAMES)
        super().__init__(f"Unknown instrument {value!r}; allowed instruments are {allowed}")


def get_instrument(name: str | Instrument) -> Instrument:
    """The catalogue entry for ``name``.

    Exact names ('PHQ-9', 'GAD-7', 'MADRS', 'QIDS-SR16', 'PCL-5') and variants that
    differ only in case, spaces, hyphens, underscores or dots ('phq9', 'PHQ 9',
    'gad-7') resolve; so do 'QIDS', 'QIDS-SR' and 'QIDS16' (-> 'QIDS-SR16').
    An ``Instrument`` is returned as is. Anything else raises UnknownInstrumentError.
    """
    if isinstance(name, Instrument):
        return name
    if not isinstance(name, str):
        raise UnknownInstrumentError(name)
    canonical = _ALIASES.get(re.sub(r"[\s\-_.]", "", name).upper())
    if canonical is None:
        raise UnknownInstrumentError(name)
    return INSTRUMENTS[canonical]


def severity(instrument: str | Instrument, total: int) -> str:
    """The severity band label of ``total`` (OUTCOMES.md section 1, bands inclusive).

    Raises ValueError when ``total`` is not an integer inside the instrument's range.
    """
    inst = get_instrument(instrument)
    if isinstance(total, bool) or not isinstance(total, numbers.Integral):
        raise ValueError(f"{inst.name} total: {total!r} is not an integer")
    for band in inst.bands:
        if band.contains(int(total)):
            return band.label
    raise ValueError(
        f"{inst.name} total: {total} is out of range; totals are integers "
        f"{inst.total_min}-{inst.total_max}"
    )
