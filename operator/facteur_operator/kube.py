"""A small asynchronous client of the Kubernetes API: what the handlers need, no more.

kopf watches and patches the custom resources itself; this client reads and writes the
objects around them (Secrets, DNSEndpoints, the MailDomain a Mailbox names, status) with
the same credentials kopf logged in with (``kopf.ConnectionInfo``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import tempfile
from typing import Any
from urllib.parse import quote

import aiohttp
import kopf

USER_AGENT = "facteur-operator"


class KubeError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"Kubernetes API answered {status}: {message}")
        self.status = status


def resource_path(api_version: str, plural: str, namespace: str | None = None) -> str:
    """Where objects of ``plural`` are listed: in ``namespace``, or in every namespace."""
    if namespace:
        return object_path(api_version, plural, namespace)
    root = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    return f"{root}/{plural}"


def object_path(api_version: str, plural: str, namespace: str, name: str | None = None) -> str:
    """``v1`` -> /api/v1/..., ``group/version`` -> /apis/group/version/..."""
    root = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    path = f"{root}/namespaces/{namespace}/{plural}"
    return f"{path}/{name}" if name else path


class Kube:
    def __init__(self, info: kopf.ConnectionInfo) -> None:
        self.info = info
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._discovered: dict[str, set[str]] = {}

    def _ssl(self) -> ssl.SSLContext | bool:
        if self.info.insecure:
            return False
        context = ssl.create_default_context(cafile=self.info.ca_path)
        if self.info.ca_data:
            context.load_verify_locations(cadata=base64.b64decode(self.info.ca_data).decode())
        cert, key = self.info.certificate_path, self.info.private_key_path
        if self.info.certificate_data and self.info.private_key_data:
            # ssl loads client certificates from files only.
            cert, key = _file(self.info.certificate_data), _file(self.info.private_key_data)
        if cert and key:
            context.load_cert_chain(cert, key)
        return context

    def _headers(self) -> dict[str, str]:
        if self.info.token:
            return {"Authorization": f"{self.info.scheme or 'Bearer'} {self.info.token}"}
        if self.info.username and self.info.password:
            pair = f"{self.info.username}:{self.info.password}".encode()
            return {"Authorization": "Basic " + base64.b64encode(pair).decode()}
        return {}

    async def _client(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._loop is not loop or self._session.closed:
            self._session = aiohttp.ClientSession(
                base_url=self.info.server,
                headers={**self._headers(), "User-Agent": USER_AGENT},
                connector=aiohttp.TCPConnector(ssl=self._ssl()),
                timeout=aiohttp.ClientTimeout(total=30),
            )
            self._loop = loop
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self, method: str, path: str, body: Any = None, content_type: str = "application/json"
    ) -> tuple[int, Any]:
        session = await self._client()
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": content_type} if body is not None else {}
        async with session.request(method, path, data=data, headers=headers) as response:
            text = await response.text()
            try:
                payload = json.loads(text) if text else None
            except ValueError:
                payload = text
            return response.status, payload

    async def _ok(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        status, payload = await self.request(method, path, body, **kw)
        if status >= 300:
            message = payload.get("message") if isinstance(payload, dict) else payload
            raise KubeError(status, str(message)[:300])
        return payload

    async def get(self, path: str) -> dict | None:
        status, payload = await self.request("GET", path)
        if status == 404:
            return None
        if status >= 300:
            raise KubeError(status, str(payload)[:300])
        return payload

    async def list(self, path: str) -> list[dict]:
        return (await self._ok("GET", path) or {}).get("items") or []

    async def list_page(
        self, path: str, *, limit: int, token: str | None = None
    ) -> tuple[list[dict], str | None]:
        """One page of a list (``limit``/``continue``): its items and the next page's token."""
        query = f"limit={limit}" + (f"&continue={quote(token)}" if token else "")
        found = await self._ok("GET", f"{path}?{query}") or {}
        return found.get("items") or [], (found.get("metadata") or {}).get("continue") or None

    async def create(self, path: str, body: dict) -> dict:
        return await self._ok("POST", path, body)

    async def merge_patch(self, path: str, body: dict) -> dict:
        return await self._ok("PATCH", path, body, content_type="application/merge-patch+json")

    async def delete(self, path: str) -> None:
        """Deletes an object (its dependents after it, in the background); gone already is fine."""
        status, payload = await self.request("DELETE", path, {"propagationPolicy": "Background"})
        if status >= 300 and status != 404:
            message = payload.get("message") if isinstance(payload, dict) else payload
            raise KubeError(status, str(message)[:300])

    async def has_resource(self, api_version: str, plural: str) -> bool:
        """Whether the cluster serves ``plural`` in ``api_version`` (its CRD is installed)."""
        if api_version not in self._discovered:
            root = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
            found = await self.get(root)
            self._discovered[api_version] = {
                r.get("name") for r in ((found or {}).get("resources") or [])
            }
        return plural in self._discovered[api_version]


def _file(data: str) -> str:
    handle = tempfile.NamedTemporaryFile(delete=False, suffix=".pem")  # noqa: SIM115
    handle.write(base64.b64decode(data))
    handle.close()
    return handle.name
