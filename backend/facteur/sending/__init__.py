"""Outbound mail: turning a draft into signed RFC 5322 bytes (and, later, sending them)."""
