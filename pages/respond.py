"""The patient's link page (/respond?token=...): no sign-in, no staff navigation. A file
page so that a browser's first request for /respond finds it; the screen is
ui.respond.respond_screen (dashboard.py routes there before the sign-in check)."""

from ui.respond import respond_screen

respond_screen()
