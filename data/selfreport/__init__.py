"""Self-report: patients answer their own questionnaires, at the chair (kiosk) or through
a link (invitations, tokens, schedules), and the on-call outbox. Imports data, models and
outcomes; nothing here imports pages or ui."""
