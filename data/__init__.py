"""Persistence and services: settings, engine, queries, audit, import, exports, demo seed."""
