"""The thread list's ``search`` parameter (the list itself is ``mail.apis.ThreadListApi``)."""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError

from facteur.mail.models import Thread
from facteur.search import syntax as s
from facteur.search.backends.base import SearchTimeout, SearchUnavailable
from facteur.search.query import QueryError
from facteur.search.selectors import threads_search
from facteur.search.serializers import SearchMatchSerializer

_CURSOR_PREFIX = "search:"


class SearchTooSlow(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The search took too long; make it more precise (add words or a date)."
    default_code = "search_timeout"


class SearchDown(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Search is unavailable for the moment; try again in a few minutes."
    default_code = "search_unavailable"


def list_filters(query: dict[str, Any]) -> list[s.Node]:
    """The thread list's own filters as search conditions (the API checked the label)."""
    nodes: list[s.Node] = []
    if query.get("view"):
        nodes.append(s.In(s.Place(query["view"])))
    if query.get("label"):
        nodes.append(s.LabelId(str(query["label"])))
    if query.get("unread") is not None:
        nodes.append(s.Is(s.State.UNREAD if query["unread"] else s.State.READ))
    if query.get("starred") is not None:
        starred = s.Is(s.State.STARRED)
        nodes.append(starred if query["starred"] else s.Not(starred))
    if query.get("has_attachments") is not None:
        nodes.append(s.HasAttachment() if query["has_attachments"] else s.Not(s.HasAttachment()))
    return nodes


def search_page(
    *, user_id: object, mailbox_ids: list[str], query: dict[str, Any]
) -> tuple[list[tuple[object, dict[str, Any]]], str | None]:
    """(thread id, match) of one page of search results, and the next page's cursor."""
    offset = _offset(query.get("cursor"))
    try:
        results = threads_search(
            user_id=user_id,
            mailbox_ids=mailbox_ids,
            text=query["search"],
            filters=list_filters(query),
            offset=offset,
            limit=query["page_size"],
        )
    except QueryError as exc:
        raise ValidationError({"search": [str(exc)]}) from None
    except SearchTimeout:
        raise SearchTooSlow() from None
    except SearchUnavailable:
        raise SearchDown() from None
    page = [
        (
            hit.thread_id,
            {
                "message_id": hit.message_id,
                "score": hit.score,
                "subject": [vars(seg) for seg in hit.subject],
                "snippet": [vars(seg) for seg in hit.snippet],
            },
        )
        for hit in results.hits
    ]
    next_cursor = f"{_CURSOR_PREFIX}{offset + len(page)}" if results.has_more else None
    return page, next_cursor


def in_page_order(
    rows: list[Thread], page: list[tuple[object, dict[str, Any]]]
) -> tuple[list[Thread], dict[str, Any]]:
    """``rows`` in the page's order, and each one's match (``SearchMatchSerializer``)."""
    by_id = {row.pk: row for row in rows}
    threads, matches = [], {}
    for thread_id, match in page:
        thread = by_id.get(thread_id)
        if thread is not None:
            threads.append(thread)
            matches[str(thread_id)] = SearchMatchSerializer(match).data
    return threads, matches


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    number = cursor.removeprefix(_CURSOR_PREFIX)
    if not cursor.startswith(_CURSOR_PREFIX) or not number.isdigit() or len(number) > 6:
        raise ValidationError({"cursor": ["Invalid cursor for a search."]})
    return int(number)
