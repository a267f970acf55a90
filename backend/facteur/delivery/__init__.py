"""The delivery service: LMTP from Postfix (and SMTP on one machine) into ingest."""
