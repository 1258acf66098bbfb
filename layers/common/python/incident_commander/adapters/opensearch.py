"""The production memory: an OpenSearch Serverless (aoss) vector collection through opensearch-py.

- Requests are signed with SigV4 for service `aoss` (the function role's credentials).
- The index maps the pattern fields as keywords/dates, the text as `body`, and the vector as a
  `knn_vector` (HNSW on faiss; vectors are L2-normalised, so inner product is cosine).
- Search is one `hybrid` query (a keyword `match` and a `knn` clause, both filtered) run through a
  search pipeline whose normalization processor does min-max + weighted arithmetic mean — the
  same fusion as the embedded adapter (`memory.port.fuse`).
- Vector collections do not accept custom document ids, so the pattern id is a keyword field and an
  upsert deletes the pattern's previous documents and indexes the new one in one `_bulk` request;
  per-item errors come back in the result instead of failing the batch.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ..memory.embedders import Embedder
from ..memory.model import BulkResult, Hit, MemoryQuery, Pattern
from ..memory.port import CANDIDATES, KEYWORD_WEIGHT, VECTOR_WEIGHT, MemoryBackendError, MemoryStore

VECTOR_FIELD = "embedding"


def index_body(dimensions: int) -> dict[str, Any]:
    return {
        "settings": {"index": {"knn": True}},
        "mappings": {"properties": {
            "pattern_id": {"type": "keyword"},
            "kind": {"type": "keyword"},
            "category": {"type": "keyword"},
            "service": {"type": "keyword"},
            "services": {"type": "keyword"},
            "created_at": {"type": "date"},
            "body": {"type": "text"},
            "doc": {"type": "object", "enabled": False},
            VECTOR_FIELD: {"type": "knn_vector", "dimension": dimensions,
                           "method": {"name": "hnsw", "engine": "faiss", "space_type": "innerproduct",
                                      "parameters": {"m": 16, "ef_construction": 128}}},
        }},
    }


def pipeline_body(weights: tuple[float, float] = (KEYWORD_WEIGHT, VECTOR_WEIGHT)) -> dict[str, Any]:
    total = sum(weights)
    return {"description": "incident memory: keyword + vector, min-max normalised, weighted mean",
            "phase_results_processors": [{"normalization-processor": {
                "normalization": {"technique": "min_max"},
                "combination": {"technique": "arithmetic_mean",
                                "parameters": {"weights": [round(w / total, 4) for w in weights]}}}}]}


def filters(q: MemoryQuery) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if q.categories:
        out.append({"terms": {"category": [c.value for c in q.categories]}})
    if q.kinds:
        out.append({"terms": {"kind": list(q.kinds)}})
    if q.services:
        wanted = sorted({s.lower() for s in q.services})
        out.append({"bool": {"should": [{"terms": {"services": wanted}}, {"terms": {"service": wanted}}],
                             "minimum_should_match": 1}})
    if q.since or q.until:
        rng: dict[str, str] = {}
        if q.since:
            rng["gte"] = q.since.isoformat()
        if q.until:
            rng["lte"] = q.until.isoformat()
        out.append({"range": {"created_at": rng}})
    return out


def search_body(q: MemoryQuery, vector: list[float]) -> dict[str, Any]:
    f = filters(q)
    keyword: dict[str, Any] = {"bool": {"must": [{"match": {"body": {"query": q.text}}}], "filter": f}}
    knn: dict[str, Any] = {"vector": vector, "k": CANDIDATES}
    if f:
        knn["filter"] = {"bool": {"filter": f}}
    return {"size": q.k, "_source": {"excludes": [VECTOR_FIELD]},
            "query": {"hybrid": {"queries": [keyword, {"knn": {VECTOR_FIELD: knn}}]}}}


def document(p: Pattern, vector: list[float]) -> dict[str, Any]:
    return {"pattern_id": p.id, "kind": p.kind, "category": p.category.value,
            "service": p.service.lower() if p.service else None,
            "services": sorted({s.lower() for s in p.services}), "created_at": p.created_at.isoformat(),
            "body": p.text(), "doc": p.model_dump(mode="json"), VECTOR_FIELD: vector}


def aoss_client(endpoint: str, region: str | None = None, session: Any = None, timeout: float = 5.0) -> Any:
    """An opensearch-py client for a collection endpoint, signing every request with SigV4 (`aoss`)."""
    import boto3
    from opensearchpy import AWSV4SignerAuth, OpenSearch, RequestsHttpConnection

    session = session or boto3.Session()
    region = region or session.region_name or os.environ.get("AWS_REGION", "us-east-1")
    creds = session.get_credentials()
    if creds is None:
        raise MemoryBackendError("no AWS credentials to sign OpenSearch requests with")
    use_ssl = not endpoint.startswith("http://")
    host = endpoint.split("://", 1)[-1].rstrip("/")
    hostname, _, port = host.partition(":")
    return OpenSearch(hosts=[{"host": hostname, "port": int(port or (443 if use_ssl else 80))}],
                      http_auth=AWSV4SignerAuth(creds, region, "aoss"), use_ssl=use_ssl, verify_certs=use_ssl,
                      connection_class=RequestsHttpConnection, timeout=timeout, pool_maxsize=4)


class OpenSearchMemory(MemoryStore):
    def __init__(self, client: Any, embedder: Embedder, index: str = "incident-memory",
                 pipeline: str = "incident-memory-hybrid",
                 weights: tuple[float, float] = (KEYWORD_WEIGHT, VECTOR_WEIGHT)):
        self.client, self.embedder, self.index, self.pipeline = client, embedder, index, pipeline
        self.dimensions = embedder.dimensions
        self.weights = weights

    def ensure(self) -> None:
        """Create the index and the search pipeline when missing (idempotent)."""
        from opensearchpy.exceptions import RequestError

        if not self.client.indices.exists(index=self.index):
            try:
                self.client.indices.create(index=self.index, body=index_body(self.dimensions))
            except RequestError as exc:  # created concurrently by another container
                if "resource_already_exists" not in str(exc):
                    raise
        self.client.transport.perform_request("PUT", f"/_search/pipeline/{self.pipeline}",
                                              body=pipeline_body(self.weights))

    def _doc_ids(self, pattern_ids: Sequence[str]) -> dict[str, list[str]]:
        if not pattern_ids:
            return {}
        res = self.client.search(index=self.index, body={
            "size": min(10_000, 10 * len(pattern_ids)), "_source": ["pattern_id"],
            "query": {"terms": {"pattern_id": list(pattern_ids)}}})
        out: dict[str, list[str]] = {}
        for h in res["hits"]["hits"]:
            out.setdefault(h["_source"]["pattern_id"], []).append(h["_id"])
        return out

    def upsert(self, patterns: Sequence[Pattern]) -> BulkResult:
        result = BulkResult()
        if not patterns:
            return result
        vecs = self.embedder.embed([p.text() for p in patterns])
        old = self._doc_ids([p.id for p in patterns])
        lines: list[dict[str, Any]] = []
        owners: list[tuple[str, str]] = []  # (pattern id, op) per action, to attribute item errors
        for p, v in zip(patterns, vecs, strict=True):
            for doc_id in old.get(p.id, []):
                lines.append({"delete": {"_index": self.index, "_id": doc_id}})
                owners.append((p.id, "delete"))
            lines.append({"index": {"_index": self.index}})
            lines.append(document(p, [float(x) for x in v]))
            owners.append((p.id, "index"))
        res = self.client.bulk(body=lines)
        for (pid, op), item in zip(owners, res.get("items", []), strict=False):
            body = item.get(op) or next(iter(item.values()))
            status = int(body.get("status", 500))
            if op == "delete" and status == 404:
                continue
            if status >= 300:
                err = body.get("error") or {}
                reason = err.get("reason") if isinstance(err, dict) else str(err)
                result.errors[pid] = f"{op} failed ({status}): {reason}"
        result.written = sum(1 for p in patterns if p.id not in result.errors)
        return result

    def get(self, pattern_id: str) -> Pattern | None:
        res = self.client.search(index=self.index, body={"size": 1, "query": {"term": {"pattern_id": pattern_id}},
                                                         "_source": ["doc"]})
        hits = res["hits"]["hits"]
        return Pattern.model_validate(hits[0]["_source"]["doc"]) if hits else None

    def delete(self, pattern_id: str) -> bool:
        ids = self._doc_ids([pattern_id]).get(pattern_id, [])
        for doc_id in ids:
            self.client.delete(index=self.index, id=doc_id)
        return bool(ids)

    def count(self) -> int:
        return int(self.client.count(index=self.index)["count"])

    def search(self, query: MemoryQuery) -> list[Hit]:
        v = [float(x) for x in self.embedder.embed_one(query.text)]
        res = self.client.search(index=self.index, body=search_body(query, v),
                                 params={"search_pipeline": self.pipeline})
        hits = []
        for h in res["hits"]["hits"]:
            p = Pattern.model_validate(h["_source"]["doc"])
            hits.append(Hit(pattern=p, score=float(h.get("_score") or 0.0)))
        return hits
