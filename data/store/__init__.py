"""Where the data lives: settings, engine and units of work, migrations, the bulk writer, the
column reader, the audit trail's writer (every write records in its own transaction), the
outcome recompute queue, study ids, the clinic's clock, schema checks. Imports models/ and
outcomes/ only."""
