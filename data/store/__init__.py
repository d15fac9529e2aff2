"""Where the data lives: settings, engine and sessions, migrations, bulk reads and writes, backups, schema checks. Imports models/ only."""
