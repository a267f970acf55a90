"""Outbound mail: composing, DKIM-signing and sending drafts (relay transport, send task)."""
