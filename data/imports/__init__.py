"""Score and patient CSV imports: reading, validating with the forms' rules, writing in one
transaction. Imports store/, accounts/, clinic/."""
