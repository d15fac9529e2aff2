"""The append-only, hash-chained audit trail and its queries. Imports store/, models/."""
