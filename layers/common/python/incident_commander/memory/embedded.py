"""The embedded memory: one SQLite file (FTS5 for keywords) plus float32 vectors searched with numpy.

The local default: no server, exact cosine similarity, filters by service, category, kind and time.
Vectors are kept in the same file (a BLOB per pattern) and mirrored in one numpy matrix in memory,
so a query is one FTS5 MATCH, one matrix-vector product and a fusion of the two candidate lists.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .embedders import Embedder
from .model import BulkResult, Hit, MemoryQuery, Pattern
from .port import (
    CANDIDATES,
    KEYWORD_WEIGHT,
    VECTOR_WEIGHT,
    MemoryBackendError,
    MemoryStore,
    fuse,
    keyword_terms,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS patterns (
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    category TEXT NOT NULL,
    service TEXT,
    services TEXT NOT NULL,
    created_at REAL NOT NULL,
    doc TEXT NOT NULL,
    vec BLOB NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS patterns_fts USING fts5(body, tokenize = 'porter unicode61');
"""


class EmbeddedMemory(MemoryStore):
    def __init__(self, path: str | Path, embedder: Embedder,
                 weights: tuple[float, float] = (KEYWORD_WEIGHT, VECTOR_WEIGHT)):
        self.path = str(path)
        self.embedder = embedder
        self.dimensions = embedder.dimensions
        self.weights = weights
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._db.executescript(SCHEMA)
        self._lock = threading.RLock()
        self._check_dimensions()
        self._load_matrix()

    # --- set-up ---------------------------------------------------------------------------------
    def _check_dimensions(self) -> None:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'embedder'").fetchone()
        mine = {"name": self.embedder.name, "dimensions": self.dimensions}
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('embedder', ?)", (json.dumps(mine),))
            self._db.commit()
        elif json.loads(row[0]) != mine:
            raise MemoryBackendError(f"{self.path} was built with embedder {row[0]}, not {json.dumps(mine)}: "
                                     "re-index it or point IC_MEMORY_PATH elsewhere")

    _COLUMNS = "rid, category, kind, services, service, created_at, vec"

    def _load_matrix(self) -> None:
        self._set_rows(self._db.execute(f"SELECT {self._COLUMNS} FROM patterns ORDER BY rid").fetchall())

    def _set_rows(self, rows: list[tuple]) -> None:
        self._rids = np.array([r[0] for r in rows], dtype=np.int64)
        self._pos = {int(r): i for i, r in enumerate(self._rids)}
        self._cat = np.array([r[1] for r in rows], dtype=object)
        self._kind = np.array([r[2] for r in rows], dtype=object)
        self._svc = [frozenset(json.loads(r[3])) | ({r[4].lower()} if r[4] else frozenset()) for r in rows]
        self._created = np.array([r[5] for r in rows], dtype=np.float64)
        self._m = (np.frombuffer(b"".join(r[6] for r in rows), dtype=np.float32).reshape(len(rows), self.dimensions)
                   if rows else np.zeros((0, self.dimensions), np.float32)).copy()

    def _refresh(self, dropped: set[int], added: list[int]) -> None:
        """Mirror a committed change in the in-memory arrays without re-reading the whole file."""
        keep = [i for i, r in enumerate(self._rids) if int(r) not in dropped] if dropped else None
        marks = ",".join("?" * len(added))
        new = self._db.execute(f"SELECT {self._COLUMNS} FROM patterns WHERE rid IN ({marks}) ORDER BY rid",
                               added).fetchall() if added else []
        if keep is None and not new:
            return
        idx = np.arange(len(self._rids)) if keep is None else np.array(keep, dtype=np.int64)
        old_m, old_rids = self._m[idx], self._rids[idx]
        old_cat, old_kind, old_created = self._cat[idx], self._kind[idx], self._created[idx]
        old_svc = [self._svc[i] for i in idx]
        self._set_rows(new)
        self._rids = np.concatenate([old_rids, self._rids])
        self._cat = np.concatenate([old_cat, self._cat])
        self._kind = np.concatenate([old_kind, self._kind])
        self._created = np.concatenate([old_created, self._created])
        self._svc = old_svc + self._svc
        self._m = np.concatenate([old_m, self._m]) if len(old_m) else self._m
        self._pos = {int(r): i for i, r in enumerate(self._rids)}

    # --- writes ---------------------------------------------------------------------------------
    def upsert(self, patterns: Sequence[Pattern]) -> BulkResult:
        result = BulkResult()
        if not patterns:
            return result
        vecs = self.embedder.embed([p.text() for p in patterns])
        dropped: set[int] = set()
        added: list[int] = []
        with self._lock:
            for p, v in zip(patterns, vecs, strict=True):
                if v.shape != (self.dimensions,) or not np.isfinite(v).all():
                    result.errors[p.id] = f"embedding has shape {v.shape} or non-finite values"
                    continue
                try:
                    old, new = self._write(p, v)
                except sqlite3.Error as exc:
                    result.errors[p.id] = f"sqlite: {exc}"
                    continue
                result.written += 1
                if old is not None:
                    dropped.add(old)
                    if old in added:
                        added.remove(old)
                added.append(new)
            self._db.commit()
            self._refresh(dropped, added)
        return result

    def _write(self, p: Pattern, v: np.ndarray) -> tuple[int | None, int]:
        """(the row it replaced, its new row)."""
        old = self._db.execute("SELECT rid FROM patterns WHERE id = ?", (p.id,)).fetchone()
        if old:
            self._db.execute("DELETE FROM patterns_fts WHERE rowid = ?", (old[0],))
            self._db.execute("DELETE FROM patterns WHERE rid = ?", (old[0],))
        services = sorted({s.lower() for s in p.services})
        cur = self._db.execute(
            "INSERT INTO patterns (id, kind, category, service, services, created_at, doc, vec) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (p.id, p.kind, p.category.value, p.service, json.dumps(services), p.created_at.timestamp(),
             p.model_dump_json(), np.asarray(v, np.float32).tobytes()))
        self._db.execute("INSERT INTO patterns_fts (rowid, body) VALUES (?, ?)", (cur.lastrowid, p.text()))
        return (old[0] if old else None), int(cur.lastrowid)

    def bulk_load(self, patterns: Sequence[Pattern], vectors: np.ndarray) -> None:
        """Write many patterns with precomputed vectors in one transaction (benchmarks, re-indexing)."""
        with self._lock:
            for p, v in zip(patterns, vectors, strict=True):
                self._write(p, v)
            self._db.commit()
            self._load_matrix()

    def delete(self, pattern_id: str) -> bool:
        with self._lock:
            row = self._db.execute("SELECT rid FROM patterns WHERE id = ?", (pattern_id,)).fetchone()
            if not row:
                return False
            self._db.execute("DELETE FROM patterns_fts WHERE rowid = ?", (row[0],))
            self._db.execute("DELETE FROM patterns WHERE rid = ?", (row[0],))
            self._db.commit()
            self._refresh({row[0]}, [])
            return True

    # --- reads ----------------------------------------------------------------------------------
    def get(self, pattern_id: str) -> Pattern | None:
        row = self._db.execute("SELECT doc FROM patterns WHERE id = ?", (pattern_id,)).fetchone()
        return Pattern.model_validate_json(row[0]) if row else None

    def count(self) -> int:
        return len(self._rids)

    def _mask(self, q: MemoryQuery) -> np.ndarray | None:
        """Which rows pass the filters (None: all)."""
        if not (q.categories or q.kinds or q.since or q.until or q.services):
            return None
        m = np.ones(len(self._rids), dtype=bool)
        if q.categories:
            m &= np.isin(self._cat, [c.value for c in q.categories])
        if q.kinds:
            m &= np.isin(self._kind, list(q.kinds))
        if q.since:
            m &= self._created >= q.since.timestamp()
        if q.until:
            m &= self._created <= q.until.timestamp()
        if q.services:
            wanted = {s.lower() for s in q.services}
            m &= np.fromiter((bool(s & wanted) for s in self._svc), dtype=bool, count=len(self._svc))
        return m

    def search(self, query: MemoryQuery) -> list[Hit]:
        with self._lock:
            if not len(self._rids):
                return []
            qv = self.embedder.embed_one(query.text)
            mask = self._mask(query)
            sims = self._m @ qv
            allowed = sims if mask is None else np.where(mask, sims, -np.inf)
            n = min(CANDIDATES, len(allowed))
            top = np.argpartition(-allowed, n - 1)[:n]
            vector = {int(self._rids[i]): float(allowed[i]) for i in top if np.isfinite(allowed[i])}
            keyword = self._keyword(query, mask)
            fused = fuse(keyword, vector, self.weights)
            best = sorted(fused, key=lambda r: (-fused[r][0], r))[:query.k]
            docs = self._docs(best)
        hits = []
        for rid in best:
            score, k, v = fused[rid]
            hits.append(Hit(pattern=docs[rid], score=round(score, 6), keyword=round(k, 6), vector=round(v, 6),
                            similarity=round(float(sims[self._pos[rid]]), 6)))
        return hits

    def _keyword(self, query: MemoryQuery, mask: np.ndarray | None) -> dict[int, float]:
        terms = keyword_terms(query.text)
        if not terms:
            return {}
        match = " OR ".join(f'"{t}"' for t in terms)
        limit = CANDIDATES if mask is None else CANDIDATES * 20
        rows = self._db.execute("SELECT rowid, bm25(patterns_fts) FROM patterns_fts WHERE patterns_fts MATCH ? "
                                "ORDER BY bm25(patterns_fts) LIMIT ?", (match, limit)).fetchall()
        out: dict[int, float] = {}
        for rid, score in rows:
            pos = self._pos.get(rid)
            if pos is None or (mask is not None and not mask[pos]):
                continue
            out[rid] = -float(score)  # FTS5's bm25() is lower-is-better
            if len(out) >= CANDIDATES:
                break
        return out

    def _docs(self, rids: list[int]) -> dict[int, Pattern]:
        if not rids:
            return {}
        marks = ",".join("?" * len(rids))
        rows = self._db.execute(f"SELECT rid, doc FROM patterns WHERE rid IN ({marks})", rids).fetchall()
        return {rid: Pattern.model_validate_json(doc) for rid, doc in rows}

    def close(self) -> None:
        self._db.close()

