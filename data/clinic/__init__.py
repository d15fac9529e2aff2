"""The clinical record and its services: patients, courses, infusions, scores, monitoring,
alerts, corrections, drafts, protocol settings. Imports store/, files/, audit/, accounts/."""
