"""Demo data for the single-machine run: ``facteur-admin demo seed``."""
