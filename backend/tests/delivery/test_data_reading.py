"""DATA read in blocks: the end is found wherever the network splits the bytes."""

from __future__ import annotations

import asyncio

import pytest

from facteur.delivery.server import longest_line, read_data

LIMIT = 1001  # aiosmtpd's reader limit (one line)

BODY = (
    b"Subject: dots\r\n\r\nThanks.\r\n..leading dot, stuffed\r\n..\r\nmid. dot.\r\n"
    + b"".join(b"line %d " % i + b"x" * 900 + b"\r\n" for i in range(5))
    + b"last line.\r\n"
)


async def _read(wire: bytes, piece: int, limit: int | None) -> tuple[bytes, bool, bytes]:
    reader = asyncio.StreamReader(limit=LIMIT)

    async def feed() -> None:
        for start in range(0, len(wire), piece):
            reader.feed_data(wire[start : start + piece])
            await asyncio.sleep(0)

    feeding = asyncio.create_task(feed())
    content, too_much = await read_data(reader, limit)
    await feeding
    return content, too_much, await reader.readuntil(b"\r\n")


@pytest.mark.parametrize("piece", [1, 2, 3, 5, 999, 1000, 1001, 1002, 4096, 100_000])
@pytest.mark.parametrize("body", [b"", b"\r\n", b"one line\r\n", BODY])
def test_the_lone_dot_ends_data_and_what_follows_stays(body, piece):
    content, too_much, after = asyncio.run(_read(body + b".\r\nQUIT\r\n", piece, None))
    assert (content, too_much, after) == (body, False, b"QUIT\r\n")


@pytest.mark.parametrize("piece", [1, 1000, 100_000])
def test_over_the_limit_is_drained_and_dropped(piece):
    content, too_much, after = asyncio.run(_read(BODY + b".\r\nQUIT\r\n", piece, 2048))
    assert (content, too_much, after) == (b"", True, b"QUIT\r\n")
    assert asyncio.run(_read(BODY + b".\r\nQUIT\r\n", piece, len(BODY)))[:2] == (BODY, False)


def test_longest_line_excludes_crlf():
    assert longest_line(b"") == 0
    assert longest_line(b"ab\r\nabcd\r\n") == 4
    assert longest_line(b"a\nbare LF is no line end\r\n") == 24
