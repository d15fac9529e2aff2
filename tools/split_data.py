"""Codemod prepared for issue 11 item 1: split data/ into rooms named for what they hold.

Run from the repository root on a clean tree, at a moment when no other branch is in
flight (it moves 40 modules): `python tools/split_data.py [module=room ...]` (extra
arguments place modules added since it was written). It moves the modules with `git mv`
and rewrites every reference: imports (`from data import x` split per room), dotted
names in monkeypatch strings, paths in docs, the migrations' location. Tried on the tree
of 2026-12-06 (commit 7a0f084): the whole default test run passed after it except one
failure fixed separately. Afterwards: `ruff check --fix .`, the full test run, and
docs/DEVELOPING.md's map."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOMS = {
    "store": ("Where the data lives: settings, engine and sessions, migrations, bulk reads "
              "and writes, backups, schema checks. Imports models/ only.",
              ["settings", "db", "migrate", "bulk", "frame_reader", "schema_check", "backup"]),
    "accounts": ("Who may do what: users, passwords, sign-in, roles and clinic scope. "
                 "Imports store/, audit/, models/.",
                 ["access", "users", "passwords"]),
    "audit": ("The append-only, hash-chained audit trail and its queries. Imports store/, "
              "models/.", ["audit", "audit_queries"]),
    "clinic": ("The clinical record and its services: patients, courses, infusions, scores, "
               "alerts, corrections, protocol settings, pseudonyms. Imports store/, "
               "accounts/, audit/, models/, outcomes/.",
               ["patients", "records", "infusions", "scores", "alerts", "corrections",
                "protocol", "pseudonyms"]),
    "analytics": ("The outcome read side in one place: observation frames, clinic outcomes, "
                  "the outcome report (export path), the patient view, dose, retention, "
                  "published benchmarks. Imports store/, accounts/, clinic/, models/, "
                  "outcomes/.",
                  ["observations", "outcome_frames", "clinic_outcomes", "outcome_report",
                   "patient_view", "overview", "dose_frame", "course_progress",
                   "published_benchmarks"]),
    "imports": ("Score and patient CSV imports: reading, validating with the forms' rules, "
                "writing in one transaction. Imports store/, accounts/, audit/, clinic/, "
                "models/, outcomes/.",
                ["importer", "import_csv", "import_validation", "import_records",
                 "import_courses", "import_followups", "patient_import"]),
    "seed": ("The synthetic demo clinic and benchmark stores. Imports anything in data/ "
             "below the pages.", ["seed", "seed_people", "seed_schedule", "seed_scores"]),
}

def main() -> None:
    root = Path.cwd()
    for arg in sys.argv[1:]:
        name, room = arg.split("=")
        ROOMS[room][1].append(name)
    moved = {m: room for room, (_, mods, *_) in ROOMS.items() for m in mods}
    missing = [m for m in moved if not (root / "data" / f"{m}.py").exists()]
    if missing:
        sys.exit(f"not found: {missing}")
    for room, (doc, mods) in ROOMS.items():
        (root / "data" / room).mkdir(exist_ok=True)
        (root / "data" / room / "__init__.py").write_text(f'"""{doc}"""\n')
        for m in mods:
            subprocess.run(["git", "mv", f"data/{m}.py", f"data/{room}/{m}.py"], check=True)
    subprocess.run(["git", "mv", "data/store/migrations", "data/store/migrations"], check=True)
    subprocess.run(["git", "mv", "data/common_passwords.txt",
                    "data/accounts/common_passwords.txt"], check=True)
    subprocess.run(["git", "mv", "data/benchmarks", "data/analytics/benchmarks"], check=True)

    names = "|".join(sorted(moved, key=len, reverse=True))
    dotted = re.compile(rf"(?<![\w.])data\.({names})\b")
    pathref = re.compile(rf"\bdata/({names})\.py\b")
    from_data = re.compile(r"^(\s*)from data import \(?([^)\n]*)\)?\s*$", re.M)

    def fix_from(m: re.Match) -> str:
        indent, body = m.group(1), m.group(2)
        parts = [p.strip() for p in body.split(",") if p.strip()]
        keep, lines = [], {}
        for part in parts:
            name = part.split(" as ")[0].strip()
            if name in moved:
                lines.setdefault(moved[name], []).append(part)
            else:
                keep.append(part)
        if not lines:
            return m.group(0)
        out = []
        if keep:
            out.append(f"{indent}from data import {', '.join(keep)}")
        for room in sorted(lines):
            out.append(f"{indent}from data.{room} import {', '.join(lines[room])}")
        return "\n".join(out) + ("\n" if m.group(0).endswith("\n") else "")

    files = subprocess.run(["git", "ls-files"], capture_output=True, text=True,
                           check=True).stdout.split()
    for f in files:
        p = root / f
        if p.suffix not in {".py", ".md", ".ini", ".toml", ".cfg", ".txt", ".sh"} or not p.exists():
            continue
        text = p.read_text(encoding="utf-8")
        new = dotted.sub(lambda m: f"data.{moved[m.group(1)]}.{m.group(1)}", text)
        new = pathref.sub(lambda m: f"data/{moved[m.group(1)]}/{m.group(1)}.py", new)
        new = re.sub(r"\bdata/migrations\b", "data/store/migrations", new)
        new = re.sub(r"\bdata/benchmarks/", "data/analytics/benchmarks/", new)
        if p.suffix == ".py":
            # multi-line parenthesised "from data import (\n a,\n b,\n)"
            new = re.sub(r"from data import \(\s*\n([^)]*)\)",
                         lambda m: "from data import " + ", ".join(
                             x.strip() for x in m.group(1).replace("\n", ",").split(",")
                             if x.strip()), new)
            new = from_data.sub(fix_from, new)
        if new != text:
            p.write_text(new, encoding="utf-8")
    s = root / "data/store/settings.py"
    t = s.read_text()
    t = t.replace("PROJECT_ROOT = Path(__file__).resolve().parent.parent",
                  "PROJECT_ROOT = Path(__file__).resolve().parents[2]")
    s.write_text(t)
    m = root / "data/store/migrate.py"
    t = m.read_text().replace('str(PROJECT_ROOT / "data" / "migrations")',
                              'str(PROJECT_ROOT / "data" / "store" / "migrations")')
    m.write_text(t)
    print("moved", len(moved), "modules")


if __name__ == "__main__":
    main()
