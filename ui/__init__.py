"""Shared Streamlit helpers for the pages (session, banners, formatting)."""
