"""MTA-in opens enough LMTP sessions for the delivery service to commit in batches."""

from __future__ import annotations

from tests.mta.test_render import cf, rendered


def test_lmtp_sessions_are_a_few_per_delivery_worker() -> None:
    main = cf(rendered()["main.cf"])
    # The delivery service commits the messages of sessions waiting for its workers
    # together; fewer sessions made smaller batches (docs/benchmarks.md, inbound).
    assert main["lmtp_destination_concurrency_limit"] == "20"
