"""Every reply the delivery service gives of its own, used by the code and the tests.

Enhanced status codes (RFC 3463) tell the sender whether to retry: 4.x.x keeps the
message queued, 5.x.x bounces it.
"""

from __future__ import annotations

RECIPIENT_OK = "250 2.1.5 Recipient OK"
DELIVERED = "250 2.0.0 Delivered"
UNKNOWN_RECIPIENT = "550 5.1.1 No such mailbox here"
# RFC 3463 X.2.1: the mailbox exists but takes no mail (retained after its Mailbox went).
MAILBOX_DISABLED = "550 5.2.1 Mailbox disabled, not accepting messages"
TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients"
TEMPORARY_FAILURE = "451 4.3.0 Temporary failure, please try again later"
MESSAGE_TOO_BIG = "552 5.3.4 Message too big"
LINE_TOO_LONG = "500 5.5.2 Line too long (RFC 5321 allows 1,000 octets)"

# aiosmtpd's own replies at the end of DATA, rewritten on the way out; LMTP sends
# one per recipient (RFC 2033), aiosmtpd only one.
DATA_REFUSALS = {
    "552 Error: Too much mail data": MESSAGE_TOO_BIG,
    "500 Line too long (see RFC5321 4.5.3.1.6)": LINE_TOO_LONG,
}
# aiosmtpd's own wording for what we have a reply for: rewritten on the way out.
REWRITTEN = {
    **DATA_REFUSALS,
    "552 Error: message size exceeds fixed maximum message size": MESSAGE_TOO_BIG,
}
