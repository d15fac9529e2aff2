"""The clinical record and its services: patients, courses, infusions, scores, alerts, corrections, protocol settings, pseudonyms. Imports store/, accounts/, audit/, models/, outcomes/."""
