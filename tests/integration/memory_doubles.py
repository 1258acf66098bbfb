"""Local HTTP doubles for what cannot run here: the OpenSearch Serverless data plane and Bedrock runtime.

Both listen on 127.0.0.1, check every request's SigV4 signature (recomputed with botocore from the
known test credentials, for service `aoss` / `bedrock`), and speak enough of the real REST APIs for
the real clients (opensearch-py, boto3 bedrock-runtime through endpoint_url) to drive them.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ACCESS_KEY, SECRET_KEY, REGION = "AKIDTESTDOUBLE", "test-double-secret", "eu-west-1"
_AUTH = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                   r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})")


def check_sigv4(method: str, url: str, headers: dict[str, str], body: bytes, service: str) -> str | None:
    """None when the request is signed for `service` with the test credentials, else why not."""
    auth = headers.get("authorization", "")
    m = _AUTH.fullmatch(auth)
    if not m:
        return "missing or malformed SigV4 Authorization header"
    key, _, region, svc, signed, signature = m.groups()
    if key != ACCESS_KEY:
        return f"unknown access key {key}"
    if svc != service:
        return f"signed for service {svc!r}, expected {service!r}"
    req = AWSRequest(method=method, url=url, data=body,
                     headers={h: headers[h] for h in signed.split(";") if h in headers})
    req.context["timestamp"] = headers.get("x-amz-date", "")
    signer = SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), service, region)
    expected = signer.signature(signer.string_to_sign(req, signer.canonical_request(req)), req)
    return None if expected == signature else "signature does not match"


class _Server:
    service = ""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, Any]] = []
        self.rejected: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def _serve(self) -> None:
                n = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(n) if n else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                url = f"http://{headers.get('host', '127.0.0.1')}{self.path}"
                why = check_sigv4(self.command, url, headers, body, outer.service)
                if why:
                    outer.rejected.append(why)
                    return self._reply(403, {"message": why})
                status, payload = outer.handle(self.command, urlsplit(self.path), body)
                self._reply(status, payload)

            def _reply(self, status: int, payload: Any) -> None:
                raw = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(raw)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _serve

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that gave up (the timeout tests) is expected, not an error

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def handle(self, method: str, url, body: bytes) -> tuple[int, Any]:
        raise NotImplementedError


class OpenSearchDouble(_Server):
    """Indexes, _bulk, term/terms/range/bool filters, match, knn, hybrid + normalization pipelines, _count."""

    service = "aoss"

    def __init__(self) -> None:
        super().__init__()
        self.indices: dict[str, dict[str, Any]] = {}  # name -> {"mappings":..., "docs": {id: source}}
        self.pipelines: dict[str, Any] = {}
        self.fail_ids: set[str] = set()  # pattern ids whose index action fails (per-item error)
        self._seq = 0

    def handle(self, method: str, url, body: bytes) -> tuple[int, Any]:
        path, params = url.path, {k: v[0] for k, v in parse_qs(url.query).items()}
        parts = [p for p in path.split("/") if p]
        self.requests.append((method, path, json.loads(body) if body and not path.endswith("_bulk") else body))
        if parts[:2] == ["_search", "pipeline"] and method == "PUT":
            self.pipelines[parts[2]] = json.loads(body)
            return 200, {"acknowledged": True}
        if parts == ["_bulk"] and method == "POST":
            return 200, self._bulk(body)
        index = parts[0]
        if len(parts) == 1:
            if method == "HEAD":
                return (200 if index in self.indices else 404), None
            if method == "PUT":
                if index in self.indices:
                    return 400, {"error": {"type": "resource_already_exists_exception", "reason": "exists"}}
                spec = json.loads(body)
                self.indices[index] = {"mappings": spec["mappings"], "settings": spec.get("settings"), "docs": {}}
                return 200, {"acknowledged": True, "index": index}
        if index not in self.indices:
            return 404, {"error": {"type": "index_not_found_exception", "reason": f"no such index [{index}]"}}
        docs = self.indices[index]["docs"]
        if parts[1:] == ["_count"]:
            return 200, {"count": len(docs)}
        if len(parts) == 3 and parts[1] == "_doc" and method == "DELETE":
            found = docs.pop(parts[2], None) is not None
            return (200 if found else 404), {"result": "deleted" if found else "not_found"}
        if parts[1:] == ["_search"]:
            return self._search(index, json.loads(body), params.get("search_pipeline"))
        return 400, {"error": {"type": "unsupported", "reason": f"{method} {path}"}}

    def _bulk(self, body: bytes) -> dict[str, Any]:
        lines = [json.loads(x) for x in body.decode().splitlines() if x.strip()]
        items, i, errors = [], 0, False
        while i < len(lines):
            (op, meta), = lines[i].items()
            docs = self.indices.setdefault(meta["_index"], {"mappings": {}, "docs": {}})["docs"]
            if op == "delete":
                found = docs.pop(meta["_id"], None) is not None
                items.append({"delete": {"_id": meta["_id"], "status": 200 if found else 404}})
                i += 1
                continue
            source = lines[i + 1]
            i += 2
            if "_id" in meta:  # vector collections reject custom ids, as the real service does
                errors = True
                items.append({op: {"status": 400, "error": {"type": "illegal_argument_exception",
                                                           "reason": "custom document id not supported"}}})
                continue
            if source.get("pattern_id") in self.fail_ids:
                errors = True
                items.append({op: {"status": 400, "error": {"type": "mapper_parsing_exception",
                                                           "reason": "failed to parse field"}}})
                continue
            self._seq += 1
            doc_id = f"d{self._seq}"
            docs[doc_id] = source
            items.append({op: {"_id": doc_id, "status": 201, "result": "created"}})
        return {"took": 1, "errors": errors, "items": items}

    # --- query evaluation ------------------------------------------------------------------------
    def _matches(self, src: dict[str, Any], q: dict[str, Any]) -> bool:
        (kind, spec), = q.items()
        if kind == "term":
            (field, value), = spec.items()
            return value in _values(src.get(field))
        if kind == "terms":
            (field, values), = spec.items()
            return bool(set(values) & set(_values(src.get(field))))
        if kind == "range":
            (field, bounds), = spec.items()
            v = src.get(field)
            return v is not None and all(
                (op == "gte" and v >= b) or (op == "lte" and v <= b) for op, b in bounds.items())
        if kind == "bool":
            ok = all(self._matches(src, f) for f in spec.get("filter", []) + spec.get("must", []))
            should = spec.get("should", [])
            if should:
                ok = ok and sum(self._matches(src, s) for s in should) >= spec.get("minimum_should_match", 1)
            return ok
        if kind == "match":
            return self._match_score(src, spec) > 0
        if kind == "match_all":
            return True
        raise ValueError(f"query {kind} not supported by the double")

    @staticmethod
    def _match_score(src: dict[str, Any], spec: dict[str, Any]) -> float:
        (field, opts), = spec.items()
        text = opts["query"] if isinstance(opts, dict) else opts
        words = set(re.findall(r"[a-z0-9]+", str(src.get(field, "")).lower()))
        return float(sum(1 for w in set(re.findall(r"[a-z0-9]+", text.lower())) if w in words))

    def _run(self, docs: dict[str, Any], q: dict[str, Any]) -> dict[str, float]:
        (kind, spec), = q.items()
        if kind == "knn":
            (field, opts), = spec.items()
            v = np.array(opts["vector"], dtype=np.float32)
            flt = opts.get("filter")
            scored = {i: float(np.dot(np.array(s[field], np.float32), v)) for i, s in docs.items()
                      if flt is None or self._matches(s, flt)}
            return dict(sorted(scored.items(), key=lambda kv: -kv[1])[:opts["k"]])
        if kind == "bool" and spec.get("must"):
            out = {}
            for i, s in docs.items():
                if self._matches(s, {"bool": {"filter": spec.get("filter", [])}}):
                    score = sum(self._match_score(s, m["match"]) for m in spec["must"] if "match" in m)
                    if score > 0:
                        out[i] = score
            return out
        return {i: 1.0 for i, s in docs.items() if self._matches(s, q)}

    def _search(self, index: str, body: dict[str, Any], pipeline: str | None) -> tuple[int, Any]:
        docs = self.indices[index]["docs"]
        q = body.get("query", {"match_all": {}})
        if "hybrid" in q:
            if pipeline not in self.pipelines:
                return 400, {"error": {"type": "illegal_argument_exception",
                                       "reason": "hybrid query needs a search pipeline with a normalization processor"}}
            proc = self.pipelines[pipeline]["phase_results_processors"][0]["normalization-processor"]
            assert proc["normalization"]["technique"] == "min_max"
            assert proc["combination"]["technique"] == "arithmetic_mean"
            subs = [self._run(docs, sq) for sq in q["hybrid"]["queries"]]
            weights = proc["combination"].get("parameters", {}).get("weights") or [1 / len(subs)] * len(subs)
            norm = []
            for s in subs:
                lo, hi = (min(s.values()), max(s.values())) if s else (0, 0)
                norm.append({i: (1.0 if hi - lo <= 1e-12 else (v - lo) / (hi - lo)) for i, v in s.items()})
            ids = set().union(*norm)
            scores = {i: sum(w * n.get(i, 0.0) for w, n in zip(weights, norm, strict=True)) / sum(weights)
                      for i in ids}
        else:
            scores = self._run(docs, q)
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])[:body.get("size", 10)]
        excludes = set((body.get("_source") or {}).get("excludes", [])) if isinstance(body.get("_source"), dict) \
            else set()
        includes = body.get("_source") if isinstance(body.get("_source"), list) else None
        hits = []
        for i, score in ranked:
            src = {k: v for k, v in docs[i].items() if k not in excludes and (includes is None or k in includes)}
            hits.append({"_index": index, "_id": i, "_score": score, "_source": src})
        return 200, {"took": 1, "hits": {"total": {"value": len(scores), "relation": "eq"}, "hits": hits}}


def _values(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v]


class BedrockDouble(_Server):
    """bedrock-runtime: InvokeModel for Titan Text Embeddings v2 and Converse, with programmable replies."""

    service = "bedrock"

    def __init__(self, converse: Callable[[dict[str, Any]], tuple[int, Any]] | None = None,
                 delay_s: float = 0.0) -> None:
        super().__init__()
        self.converse = converse
        self.delay_s = delay_s

    def handle(self, method: str, url, body: bytes) -> tuple[int, Any]:
        import time

        doc = json.loads(body) if body else {}
        self.requests.append((method, url.path, doc))
        if self.delay_s:
            time.sleep(self.delay_s)
        m = re.fullmatch(r"/model/([^/]+)/(invoke|converse)", url.path)
        if not m:
            return 404, {"message": f"unknown path {url.path}"}
        op = m.group(2)
        if op == "invoke":
            dims = int(doc.get("dimensions", 1024))
            if dims not in (256, 512, 1024):
                return 400, {"message": "dimensions must be one of 256, 512, 1024"}
            rng = np.random.default_rng(abs(hash(doc["inputText"])) % (2**32))
            v = rng.normal(size=dims)
            v /= np.linalg.norm(v)
            return 200, {"embedding": v.tolist(), "inputTextTokenCount": len(doc["inputText"].split())}
        if self.converse is None:
            return 500, {"message": "no converse reply programmed"}
        return self.converse(doc)
