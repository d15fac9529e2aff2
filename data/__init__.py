"""Persistence and services, in rooms named for what they hold. Bottom to top (a room may
import the rooms below it, never one above; tests/test_layers.py checks it):

store (and files beside it) -> audit -> accounts -> clinic -> selfreport -> analytics ->
exports | imports -> seed. docs/DEVELOPING.md has the map."""
