"""The embedded memory: one SQLite file (FTS5 for keywords) plus float32 vectors searched with numpy.

The local default: no server, exact cosine similarity, filters by service, category, kind and time.
Vectors are kept in the same file (a BLOB per pattern) and mirrored in one numpy matrix in memory,
FTS5 tokenises and stores the keyword index; at open its postings (fts5vocab) are mirrored in numpy
and BM25 is scored there, because FTS5's own ranking evaluates every matching row (~150 ms at 100k
patterns) while a numpy accumulation over the query terms' postings takes milliseconds. A query is
then one BM25 accumulation, one matrix-vector product and a fusion of the two candidate lists.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .embedders import Embedder, _one_blas_thread
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
CREATE VIRTUAL TABLE IF NOT EXISTS patterns_terms USING fts5vocab(patterns_fts, 'instance');
"""
BM25_K1, BM25_B = 1.2, 0.75  # the usual BM25 constants (as FTS5 and Lucene use)


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
        self._load_postings()

    def _load_postings(self) -> None:
        """term -> (row positions, term frequencies), from FTS5's instance vocabulary (its tokeniser)."""
        rows = self._db.execute("SELECT term, doc FROM patterns_terms").fetchall()  # ordered by term, doc
        self._postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._doclen = np.zeros(len(self._rids), dtype=np.float32)
        if not rows:
            return
        docs = np.searchsorted(self._rids, np.fromiter((r[1] for r in rows), np.int64, len(rows)))
        starts = [0] + [i for i in range(1, len(rows)) if rows[i][0] != rows[i - 1][0]] + [len(rows)]
        for a, b in zip(starts, starts[1:], strict=False):
            pos, tf = np.unique(docs[a:b], return_counts=True)
            self._postings[rows[a][0]] = (pos.astype(np.int64), tf.astype(np.float32))
        self._doclen = np.bincount(docs, minlength=len(self._rids)).astype(np.float32)

    def _add_postings(self, added_positions: list[int], texts: list[str]) -> None:
        """Index rows appended since the load, tokenised by the same FTS5 tokeniser."""
        extra = np.zeros(len(self._rids) - len(self._doclen), dtype=np.float32)
        self._doclen = np.concatenate([self._doclen, extra])
        for pos, text in zip(added_positions, texts, strict=True):
            toks = _tokens(text)
            self._doclen[pos] = len(toks)
            terms, counts = np.unique(np.array(toks, dtype=object), return_counts=True)
            for term, tf in zip(terms, counts, strict=True):
                p, f = self._postings.get(term, (np.zeros(0, np.int64), np.zeros(0, np.float32)))
                self._postings[term] = (np.append(p, pos), np.append(f, np.float32(tf)))

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
        if dropped:  # positions moved: re-read the postings (replacements and deletions are rare)
            self._load_postings()
        elif added:
            texts = [r[0] for r in self._db.execute(
                f"SELECT body FROM patterns_fts WHERE rowid IN ({marks}) ORDER BY rowid", added).fetchall()]
            self._add_postings([self._pos[r] for r in sorted(added)], texts)

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
            rows = np.zeros(len(self._rids), dtype=bool)
            index = self._by_service()
            for s in {s.lower() for s in q.services}:
                rows[index.get(s, [])] = True
            m &= rows
        return m

    def _by_service(self) -> dict[str, list[int]]:
        """service -> row positions (rebuilt when the rows change)."""
        if getattr(self, "_svc_index", None) is None or self._svc_index[0] is not self._rids:
            idx: dict[str, list[int]] = {}
            for i, svcs in enumerate(self._svc):
                for s in svcs:
                    idx.setdefault(s, []).append(i)
            self._svc_index = (self._rids, idx)
        return self._svc_index[1]

    def search(self, query: MemoryQuery) -> list[Hit]:
        with self._lock:
            if not len(self._rids):
                return []
            qv = self.embedder.embed_one(query.text)
            mask = self._mask(query)
            with _one_blas_thread():  # a matrix-vector product is memory bound: more threads only contend
                if mask is not None and mask.sum() < len(mask) // 4:  # narrow filters: score only those rows
                    rows = np.flatnonzero(mask)
                    sims = np.full(len(mask), -np.inf, dtype=np.float32)
                    sims[rows] = self._m[rows] @ qv
                else:
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
        """BM25 over the query's terms (stemmed by FTS5's tokeniser), accumulated in numpy."""
        n = len(self._rids)
        terms = {_porter(t) for t in keyword_terms(query.text)}
        hits = [self._postings[t] for t in terms if t in self._postings]
        if not hits or not n:
            return {}
        avg = float(self._doclen.mean()) or 1.0
        scores = np.zeros(n, dtype=np.float32)
        for pos, tf in hits:
            idf = np.log(1.0 + (n - len(pos) + 0.5) / (len(pos) + 0.5))
            norm = BM25_K1 * (1.0 - BM25_B + BM25_B * self._doclen[pos] / avg)
            scores[pos] += np.float32(idf) * tf * (BM25_K1 + 1.0) / (tf + norm)
        if mask is not None:
            scores[~mask] = 0.0
        k = min(CANDIDATES, int(np.count_nonzero(scores)))
        if k == 0:
            return {}
        top = np.argpartition(-scores, k - 1)[:k]
        return {int(self._rids[i]): float(scores[i]) for i in top if scores[i] > 0}

    def _docs(self, rids: list[int]) -> dict[int, Pattern]:
        if not rids:
            return {}
        marks = ",".join("?" * len(rids))
        rows = self._db.execute(f"SELECT rid, doc FROM patterns WHERE rid IN ({marks})", rids).fetchall()
        return {rid: Pattern.model_validate_json(doc) for rid, doc in rows}

    def close(self) -> None:
        self._db.close()


_scratch = sqlite3.connect(":memory:", check_same_thread=False)
_scratch.executescript("CREATE VIRTUAL TABLE s USING fts5(x, tokenize = 'porter unicode61');"
                       "CREATE VIRTUAL TABLE si USING fts5vocab(s, 'instance');")
_scratch_lock = threading.Lock()
_stems: dict[str, str] = {}


def _tokens(text: str) -> list[str]:
    """Text tokenised exactly as the store's FTS5 table does (porter, unicode61), one entry per occurrence."""
    with _scratch_lock:
        _scratch.execute("DELETE FROM s")
        _scratch.execute("INSERT INTO s (x) VALUES (?)", (text,))
        return [r[0] for r in _scratch.execute("SELECT term FROM si ORDER BY offset").fetchall()]


def _porter(word: str) -> str:
    """A query word as the index holds it (FTS5's porter stemming), cached."""
    if word not in _stems:
        toks = _tokens(word)
        if len(_stems) >= 100_000:
            return toks[0] if toks else word
        _stems[word] = toks[0] if toks else word
    return _stems[word]
