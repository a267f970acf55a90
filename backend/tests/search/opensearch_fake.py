"""A loopback HTTP server answering the OpenSearch calls the backend makes, as
OpenSearch's REST API documents them, and recording every request.

It does not search: ``_search`` answers what the test sets in ``search_answer``.
Tests assert the request bodies; the real-server group (OPENSEARCH_URL) checks
what OpenSearch does with them.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: object  # JSON, a list for NDJSON, None when empty


@dataclass
class FakeOpenSearch:
    requests: list[Request] = field(default_factory=list)
    indices: dict[str, dict[str, dict]] = field(default_factory=dict)  # index: id: document
    aliases: dict[str, set[str]] = field(default_factory=dict)  # alias: indices
    # The "hits" part of a _search answer, or a function of the request body giving it.
    search_answer: object = field(default_factory=lambda: {"hits": []})
    search_delay: float = 0.0

    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                if url.path.endswith("/_bulk"):  # NDJSON, whatever the Content-Type
                    body: object = [json.loads(line) for line in raw.splitlines() if line]
                else:
                    body = json.loads(raw) if raw else None
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                request = Request(self.command, url.path, query, body)
                fake.requests.append(request)
                status, answer = fake.answer(request)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def calls(self, method: str | None = None, suffix: str = "") -> list[Request]:
        return [
            r
            for r in self.requests
            if (method is None or r.method == method) and r.path.endswith(suffix)
        ]

    def resolve(self, name: str) -> list[str]:
        return sorted(self.aliases.get(name, set())) or ([name] if name in self.indices else [])

    def answer(self, r: Request) -> tuple[int, object]:
        parts = [p for p in r.path.split("/") if p]
        if parts[:1] == ["_index_template"]:
            return 200, {"acknowledged": True}
        if parts[:1] == ["_alias"]:
            owners = {i: {"aliases": {parts[1]: {}}} for i in self.resolve(parts[1])}
            if not owners or parts[1] not in self.aliases:
                return 404, {"error": f"alias [{parts[1]}] missing", "status": 404}
            return 200, owners
        if parts == ["_aliases"]:
            for action in r.body["actions"]:
                ((kind, spec),) = action.items()
                members = self.aliases.setdefault(spec["alias"], set())
                (members.add if kind == "add" else members.discard)(spec["index"])
            return 200, {"acknowledged": True}
        if len(parts) == 2 and parts[1] == "_bulk":
            return 200, self.bulk(parts[0], r)
        if len(parts) == 2 and parts[1] == "_search":
            if not self.resolve(parts[0]):
                return 404, {
                    "error": {"type": "index_not_found_exception", "index": parts[0]},
                    "status": 404,
                }
            time.sleep(self.search_delay)
            hits = self.search_answer
            return 200, {
                "took": 1,
                "timed_out": False,
                "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
                "hits": {"max_score": None, **(hits(r.body) if callable(hits) else hits)},
            }
        if len(parts) == 2 and parts[1] == "_refresh":
            return 200, {"_shards": {"total": 1, "successful": 1, "failed": 0}}
        if len(parts) == 1 and r.method == "PUT":
            self.indices[parts[0]] = {}
            return 200, {"acknowledged": True, "shards_acknowledged": True, "index": parts[0]}
        if len(parts) == 1 and r.method == "DELETE":
            self.indices.pop(parts[0], None)
            return 200, {"acknowledged": True}
        return 400, {"error": f"the fake does not know {r.method} {r.path}", "status": 400}

    def bulk(self, target: str, r: Request) -> dict[str, object]:
        items, errors = [], False
        lines = list(r.body)
        missing = r.query.get("require_alias") == "true" and target not in self.aliases
        while lines:
            ((action, meta),) = lines.pop(0).items()
            doc = lines.pop(0) if action == "index" else None
            (index,) = self.resolve(target) or [target]
            if missing:
                error = {"type": "index_not_found_exception", "reason": "no such index"}
                items.append({action: {"_id": meta["_id"], "status": 404, "error": error}})
                errors = True
                continue
            documents = self.indices.setdefault(index, {})
            if action == "index":
                documents[meta["_id"]] = doc
                items.append({action: {"_index": index, "_id": meta["_id"], "status": 201}})
            else:
                found = documents.pop(meta["_id"], None) is not None
                items.append({action: {"_index": index, "_id": meta["_id"],
                                       "status": 200 if found else 404}})  # fmt: skip
        return {"took": 1, "errors": errors, "items": items}
