"""Who is signed in: users, passwords, sign-in sessions (the roles themselves are
models/access.py). Imports store/."""
