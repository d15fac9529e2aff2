"""Self-report: patients answer their own questionnaires, at the chair (kiosk) or through
a link (invitations, tokens, schedules), and the on-call outbox. Imports store/, files/,
accounts/, clinic/."""
