"""Command-line commands. Each module defines `register(subparsers)`; manage.py loads
every module of this package, so a new command is a new module here."""
