"""`invite PATIENT_ID --clinic CODE --instruments PHQ-9,GAD-7 --occasion pre|post|followup
--infusion N [--expires-hours H] [--base-url URL] --format json`: a patient's questionnaire
link (data/selfreport/invitations.py), made by the system actor. Prints
{"invitation_id", "url", "expires_at"}; the token is shown only in the url, never stored."""

from __future__ import annotations

import argparse
import json

from cli.common import EXIT_OK, BadInput


def cmd_invite(args: argparse.Namespace) -> int:
    from sqlmodel import select

    from data.selfreport.invitations import create_invitation, invitation_url
    from data.store.db import write_session
    from models.access import SYSTEM
    from models.tables import Clinic, Patient

    if args.format != "json":
        raise BadInput("--format: json")
    instruments = [n.strip() for n in (args.instruments or "").split(",") if n.strip()]
    with write_session() as session:
        clinic = session.exec(select(Clinic).where(Clinic.code == args.clinic)).first()
        if clinic is None:
            raise BadInput(f"--clinic: no clinic with code {args.clinic!r}")
        patient = session.exec(select(Patient).where(
            Patient.clinic_id == clinic.id, Patient.patient_code == args.patient_id)).first()
        if patient is None:
            raise BadInput(f"PATIENT_ID: no patient with code {args.patient_id!r} in clinic "
                           f"{args.clinic}")
        inv, token = create_invitation(
            session, actor=SYSTEM, patient_id=patient.id, instruments=instruments,
            occasion=args.occasion, infusion_number=args.infusion,
            expires_hours=args.expires_hours)
    print(json.dumps({"invitation_id": inv.id, "url": invitation_url(token, args.base_url),
                      "expires_at": inv.expires_at.isoformat()}))
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("invite", help="a patient's questionnaire link (prints JSON with the url)")
    p.add_argument("patient_id", metavar="PATIENT_ID",
                   help="the clinic's patient code (MRN), as in the score import")
    p.add_argument("--clinic", required=True, help="the patient's clinic code")
    p.add_argument("--instruments", required=True,
                   help="comma-separated: PHQ-9, GAD-7, QIDS-SR16, PCL-5")
    p.add_argument("--occasion", required=True, help="pre, post or followup")
    p.add_argument("--infusion", type=int, required=True,
                   help="the infusion number (saved in the patient's latest course)")
    p.add_argument("--expires-hours", type=int, default=72, help="1 to 720 (default 72)")
    p.add_argument("--base-url", help="the app's address (default: the APP_BASE_URL setting)")
    p.add_argument("--format", default="json", help="json (the only format)")
    p.set_defaults(func=cmd_invite)
