"""Who may do what: users, passwords, sign-in, roles and clinic scope. Imports store/, audit/, models/."""
