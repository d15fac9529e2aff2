"""Reading the audit trail: search, verification, export; audited backups. Imports store/,
files/."""
