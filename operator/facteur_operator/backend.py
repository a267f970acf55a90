"""The backend's internal API for the operator (``/api/v1.0/operator/``), by service token.

Every call is an idempotent upsert (or a deletion that succeeds when there is nothing left),
so a reconcile can always make it again. A refusal (400) means the declared state cannot be
applied as it is; anything else going wrong (connection, 5xx, throttling) is temporary.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

import aiohttp

from facteur_operator.dkim import DkimKey
from facteur_operator.specs import DomainSpec, MailboxSpec


class BackendError(Exception):
    def __init__(self, message: str, *, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


class Backend:
    def __init__(self, base_url: str, token: str, timeout: float = 10) -> None:
        self.base_url = base_url.rstrip("/") + "/api/v1.0/operator"
        self.token = token
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        # One session for the process: its pool keeps connections open, where a session per
        # call paid a TCP connect (and the backend an accept) for every reconcile.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                headers={"Authorization": f"Bearer {self.token}"},
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _call(self, method: str, path: str, body: Any = None) -> dict:
        if not self.token:
            raise BackendError("no service token configured (FACTEUR_SERVICE_TOKEN)")
        try:
            async with self._client().request(method, self.base_url + path, json=body) as r:
                if r.status == 204:
                    return {}
                payload = await r.json(content_type=None) if r.content_length != 0 else {}
                if r.status < 300:
                    return payload or {}
                detail = _detail(payload)
                raise BackendError(
                    f"the backend answered {r.status} to {method} {path}: {detail}",
                    refused=r.status == 400,
                )
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise BackendError(f"the backend is unreachable: {exc or type(exc).__name__}") from exc

    async def put_domain(self, spec: DomainSpec) -> dict:
        return await self._call("PUT", f"/domains/{spec.domain}/", {"admins": list(spec.admins)})

    async def put_dkim_key(self, domain: str, key: DkimKey) -> dict:
        body = {
            "selector": key.selector,
            "algorithm": key.algorithm,
            "private_key": base64.b64encode(key.private).decode(),
        }
        return await self._call("PUT", f"/domains/{domain}/dkim/", body)

    async def put_mailboxes(
        self, items: list[tuple[str, MailboxSpec]]
    ) -> list[dict | BackendError]:
        """Many mailboxes in one call (at most ``BATCH_MAX``): each item's answer, or its
        refusal (400) or missing domain (404) as the BackendError a PUT of it would raise."""
        body = {"mailboxes": [{"address": a, **_mailbox(spec)} for a, spec in items]}
        results = (await self._call("POST", "/mailboxes/", body)).get("results")
        if not isinstance(results, list) or len(results) != len(items):
            raise BackendError(f"the backend answered {len(items)} mailboxes with {results!r:.200}")
        return [_item_answer(r) for r in results]

    async def delete_domain(self, domain: str, policy: str) -> None:
        await self._call("DELETE", f"/domains/{domain}/?deletionPolicy={policy}")

    async def delete_mailbox(self, address: str, policy: str) -> None:
        await self._call(
            "DELETE", f"/mailboxes/{quote(address, safe='@')}/?deletionPolicy={policy}"
        )


BATCH_MAX = 100  # the backend's limit of mailboxes per call


def _mailbox(spec: MailboxSpec) -> dict:
    return {
        "type": spec.type,
        "display_name": spec.display_name,
        "aliases": list(spec.aliases),
        "access": [{"user": user, "role": role} for user, role in spec.access],
    }


def _item_answer(result: Any) -> dict | BackendError:
    if not isinstance(result, dict):
        return BackendError(f"the backend answered {result!r:.200} for a mailbox")
    status = result.get("status")
    if status is None:
        return result
    return BackendError(
        f"the backend answered {status} for mailbox {result.get('address')}: "
        f"{result.get('detail')}",
        refused=status == 400,
    )


def _detail(payload: Any) -> str:
    if isinstance(payload, dict):
        errors = payload.get("errors")
        if isinstance(errors, dict):
            return "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in errors.items())
        return str(payload.get("detail", payload))
    return str(payload)[:300]
