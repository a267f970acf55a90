"""Writes on the mail store; each module covers one concern."""
