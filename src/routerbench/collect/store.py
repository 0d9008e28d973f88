"""The collection store: one SQLite database (WAL), one row per request, never rewritten whole.

Each call is keyed by a hash of its canonical request, so a re-run, a resumed run and a
run on another machine all agree on which cells exist. A completed call is committed in
its own transaction; an answer is only ever an ``ok`` row, and anything else (``error``,
``timeout``, ``parse_fail``) is retried on resume. Scores live in their own table keyed
by (call, scorer, scorer version): re-scoring never calls a model.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from routerbench.errors import DataError

__all__ = ["CallRecord", "ScoreRecord", "Store", "request_key"]

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS calls (
    key BLOB PRIMARY KEY,
    cell INTEGER NOT NULL,            -- 64-bit digest of the key's parts, for fast resume
    sample_id TEXT NOT NULL,
    task TEXT NOT NULL,
    model TEXT NOT NULL,
    purpose TEXT NOT NULL,            -- 'answer' or 'judge'
    repeat INTEGER NOT NULL,
    parent_key BLOB,                  -- judge calls: the answer they grade
    request TEXT NOT NULL,            -- the canonical request (what the key hashes)
    status TEXT NOT NULL,             -- ok | error | timeout | parse_fail
    attempts INTEGER NOT NULL,
    response TEXT,
    finish_reason TEXT,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    cached_tokens INTEGER,
    reasoning_tokens INTEGER,
    usage_source TEXT,                -- provider | tiktoken:<enc> | estimate:<how>
    cost REAL,
    cost_estimated INTEGER,
    price_source TEXT,
    price_date TEXT,
    latency_s REAL,
    ttft_s REAL,
    error TEXT,
    updated_at REAL NOT NULL,
    seq INTEGER NOT NULL              -- write order: a newer write has a larger seq
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS calls_seq ON calls (seq, status, purpose, cell);
-- the sorted cell ids of the ok answers with seq <= max_seq, as one int64 array: resume
-- reads it in one go plus the few rows written since, instead of a million index rows
CREATE TABLE IF NOT EXISTS done_snapshot (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    max_seq INTEGER NOT NULL,
    cells BLOB NOT NULL
);
-- covering index: resume reads the ok answer cells without touching the table
CREATE INDEX IF NOT EXISTS calls_status_cell ON calls (status, purpose, cell);
CREATE TABLE IF NOT EXISTS scores (
    key BLOB NOT NULL,
    scorer TEXT NOT NULL,
    version TEXT NOT NULL,
    status TEXT NOT NULL,             -- ok | parse_fail | error | refused
    quality REAL,
    detail TEXT,
    extra TEXT,
    judge_cost REAL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (key, scorer, version)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS scores_version ON scores (scorer, version, status);
"""

_CALL_COLUMNS = (
    "key",
    "cell",
    "sample_id",
    "task",
    "model",
    "purpose",
    "repeat",
    "parent_key",
    "request",
    "status",
    "attempts",
    "response",
    "finish_reason",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "usage_source",
    "cost",
    "cost_estimated",
    "price_source",
    "price_date",
    "latency_s",
    "ttft_s",
    "error",
    "updated_at",
    "seq",
)
_COST_ESTIMATED = _CALL_COLUMNS.index("cost_estimated")
_SCORE_COLUMNS = (
    "key",
    "scorer",
    "version",
    "status",
    "quality",
    "detail",
    "extra",
    "judge_cost",
    "updated_at",
)


def canonical_json(obj: Any) -> str:
    """Key-sorted, compact JSON: the same request always gives the same bytes."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def request_key(request: dict[str, Any]) -> bytes:
    """16-byte BLAKE2b of a canonical request."""
    return hashlib.blake2b(canonical_json(request).encode(), digest_size=16).digest()


@dataclass
class CallRecord:
    """A finished call (any status) as stored."""

    key: bytes
    cell: int
    sample_id: str
    task: str
    model: str
    purpose: str
    repeat: int
    parent_key: bytes | None
    request: str
    status: str
    attempts: int
    response: str | None = None
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    reasoning_tokens: int | None = None
    usage_source: str | None = None
    cost: float | None = None
    cost_estimated: bool = False
    price_source: str | None = None
    price_date: str | None = None
    latency_s: float | None = None
    ttft_s: float | None = None
    error: str | None = None

    def row(self, seq: int) -> tuple[Any, ...]:
        values = [getattr(self, c) for c in _CALL_COLUMNS[:-2]]
        values[_COST_ESTIMATED] = int(bool(self.cost_estimated))
        return (*values, time.time(), seq)


@dataclass
class ScoreRecord:
    key: bytes
    scorer: str
    version: str
    status: str
    quality: float | None
    detail: str = ""
    extra: dict[str, Any] | None = None
    judge_cost: float | None = None

    def row(self) -> tuple[Any, ...]:
        extra = None if self.extra is None else canonical_json(self.extra)
        return (
            self.key,
            self.scorer,
            self.version,
            self.status,
            self.quality,
            self.detail,
            extra,
            self.judge_cost,
            time.time(),
        )


# An ok row is final; any other row may be replaced by a newer attempt, whose attempt
# count adds to the old one's so the store shows every try that was made.
_UPSERT_CALL = (
    f"INSERT INTO calls ({', '.join(_CALL_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_CALL_COLUMNS))}) "
    "ON CONFLICT(key) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _CALL_COLUMNS[9:] if c != "attempts")
    + ", attempts = calls.attempts + excluded.attempts WHERE calls.status != 'ok'"
)
_UPSERT_SCORE = (
    f"INSERT INTO scores ({', '.join(_SCORE_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_SCORE_COLUMNS))}) "
    "ON CONFLICT(key, scorer, version) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _SCORE_COLUMNS[3:])
    + " WHERE scores.status != 'ok'"
)


class Store:
    """The SQLite database of one collection (``DIR/collect.sqlite``)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes
            self.db.execute("PRAGMA busy_timeout=10000")
            # One commit per call appends a few pages to the WAL; checkpointing every
            # 10,000 pages instead of 1,000 copies the hot index pages back far less often
            # (same durability: checkpoints only move committed pages into the main file).
            self.db.execute("PRAGMA wal_autocheckpoint=10000")
            self.db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise DataError(
                f"not a routerbench collection store: {exc}", source=str(self.path)
            ) from None
        row = self.db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if row is None:
            self.db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        elif int(row[0]) != SCHEMA_VERSION:
            raise DataError(
                f"store schema {row[0]} is not {SCHEMA_VERSION}; collect into a new folder",
                source=str(self.path),
            )
        self._seq = self._max_seq()

    def _max_seq(self) -> int:
        (v,) = self.db.execute("SELECT COALESCE(MAX(seq), 0) FROM calls").fetchone()
        return int(v)

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ writes
    def put_call(self, rec: CallRecord, score: ScoreRecord | None = None) -> None:
        """Commit one finished call (and its score) in one transaction."""
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute(_UPSERT_CALL, rec.row(self._next_seq()))
            if score is not None:
                self.db.execute(_UPSERT_SCORE, score.row())

    def put_score(self, score: ScoreRecord) -> None:
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute(_UPSERT_SCORE, score.row())

    def put_calls_bulk(self, recs: Iterable[CallRecord]) -> None:
        """Many rows in one transaction (imports, benchmarks)."""
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany(_UPSERT_CALL, (r.row(self._next_seq()) for r in recs))

    # ------------------------------------------------------------------ reads
    def done_keys(self, purpose: str | None = None) -> set[bytes]:
        """Keys of every ``ok`` call: the cells a resumed run skips."""
        if purpose is None:
            cur = self.db.execute("SELECT key FROM calls WHERE status = 'ok'")
        else:
            cur = self.db.execute(
                "SELECT key FROM calls WHERE status = 'ok' AND purpose = ?", (purpose,)
            )
        return {k for (k,) in cur}

    def n_ok_answers(self) -> int:
        (n,) = self.db.execute(
            "SELECT COUNT(*) FROM calls WHERE status = 'ok' AND purpose = 'answer'"
        ).fetchone()
        return int(n)

    def _read_cells(
        self, where: str = "", args: tuple[Any, ...] = (), index: str = "calls_status_cell"
    ) -> np.ndarray:
        cur = self.db.execute(
            f"SELECT cell FROM calls INDEXED BY {index} "
            f"WHERE status = 'ok' AND purpose = 'answer' {where}",
            args,
        )
        return np.fromiter(itertools.chain.from_iterable(cur), dtype=np.int64)

    def done_cells(self) -> np.ndarray:
        """Sorted 64-bit cell ids of every ``ok`` answer.

        From the snapshot plus the rows written after it when there is one (ok rows are
        final and only ever added, so the snapshot stays a true prefix); else from the
        covering index.
        """
        snap = self.db.execute("SELECT max_seq, cells FROM done_snapshot").fetchone()
        if snap is None:
            return self._read_cells("ORDER BY cell")
        base = np.frombuffer(snap[1], dtype="<i8").astype(np.int64)
        delta = self._read_cells("AND seq > ?", (snap[0],), index="calls_seq")
        if delta.size == 0:
            return base
        out = np.concatenate([base, delta])
        out.sort()
        return out

    def write_snapshot(self, *, min_new: int = 10_000) -> bool:
        """Store the done cells as one array when at least `min_new` ok answers are not in
        the snapshot yet; returns whether it wrote one."""
        with self.db:
            self.db.execute("BEGIN")
            snap = self.db.execute("SELECT max_seq FROM done_snapshot").fetchone()
            since = 0 if snap is None else int(snap[0])
            (new,) = self.db.execute(
                "SELECT COUNT(*) FROM calls WHERE seq > ? AND status = 'ok' AND purpose = 'answer'",
                (since,),
            ).fetchone()
            if new < min_new:
                return False
            max_seq = self._max_seq()
            cells = self.done_cells()
            self.db.execute(
                "INSERT OR REPLACE INTO done_snapshot VALUES (1, ?, ?)",
                (max_seq, cells.astype("<i8").tobytes()),
            )
        return True

    def n_final_scores(self, scorer_versions: dict[str, str]) -> int:
        """Scores of the current versions that need no redo (ok or parse_fail)."""
        total = 0
        for scorer, version in scorer_versions.items():
            (n,) = self.db.execute(
                "SELECT COUNT(*) FROM scores WHERE scorer = ? AND version = ? "
                "AND status IN ('ok', 'parse_fail')",
                (scorer, version),
            ).fetchone()
            total += int(n)
        return total

    def done_index(self) -> pd.Index:
        """The done cells as a hashed index, built once and probed per model."""
        cells = self.done_cells()
        if cells.size > 1 and np.any(cells[1:] == cells[:-1]):  # sorted: duplicates adjoin
            cells = np.unique(cells)
        return pd.Index(cells, copy=False)

    def missing(self, cells: np.ndarray, done: pd.Index | None = None) -> np.ndarray:
        """Positions in `cells` (int64 ids) with no ``ok`` answer yet, in order.

        `done` (from `done_index`) may be passed to check many models against one read.
        A prefilter on 64-bit ids: a cell reported done is checked again by its full
        128-bit key when the table is assembled, so an id collision cannot lose a row.
        """
        done = self.done_index() if done is None else done
        cells = np.asarray(cells, dtype=np.int64)
        if len(done) == 0:
            return np.arange(cells.size)
        return np.flatnonzero(done.get_indexer(cells) < 0)

    def get_call(self, key: bytes) -> dict[str, Any] | None:
        cur = self.db.execute(f"SELECT {', '.join(_CALL_COLUMNS)} FROM calls WHERE key = ?", (key,))
        row = cur.fetchone()
        return None if row is None else dict(zip(_CALL_COLUMNS, row))

    def ok_calls(self, keys: Iterable[bytes]) -> dict[bytes, dict[str, Any]]:
        """Every ``ok`` call among `keys`, by key."""
        wanted = set(keys)
        cur = self.db.execute(f"SELECT {', '.join(_CALL_COLUMNS)} FROM calls WHERE status = 'ok'")
        out = {}
        for row in cur:
            if row[0] in wanted:
                out[row[0]] = dict(zip(_CALL_COLUMNS, row))
        return out

    def scores(self, scorer_versions: dict[str, str]) -> dict[tuple[bytes, str], dict[str, Any]]:
        """Scores of the given scorer versions, by (call key, scorer)."""
        out = {}
        cur = self.db.execute(f"SELECT {', '.join(_SCORE_COLUMNS)} FROM scores")
        for row in cur:
            rec = dict(zip(_SCORE_COLUMNS, row))
            if scorer_versions.get(rec["scorer"]) == rec["version"]:
                out[(rec["key"], rec["scorer"])] = rec
        return out

    def counts(self) -> dict[str, int]:
        return dict(
            self.db.execute("SELECT status, COUNT(*) FROM calls GROUP BY status").fetchall()
        )

    def total_cost(self) -> float:
        (v,) = self.db.execute(
            "SELECT COALESCE(SUM(cost), 0) FROM calls WHERE cost IS NOT NULL"
        ).fetchone()
        return float(v)

    # ------------------------------------------------------------------ merge
    def merge_from(self, other: str | Path) -> dict[str, int]:
        """Bring in another store's calls and scores, without duplicates.

        The same request has the same key on every machine, so a key present in both is
        one cell: an ``ok`` row wins over a non-ok one and an existing ``ok`` row is kept.
        """
        other = Path(other)
        if not other.is_file():
            raise DataError("no such store", source=str(other))
        before = self.counts()
        self.db.execute("ATTACH DATABASE ? AS other", (str(other),))
        try:
            with self.db:
                self.db.execute("BEGIN")
                cols = ", ".join(_CALL_COLUMNS)
                # merged rows are newer writes here: their seq goes past ours
                picked = ", ".join(
                    c if c != "seq" else f"seq + {int(self._seq)}" for c in _CALL_COLUMNS
                )
                self.db.execute(
                    f"INSERT INTO calls ({cols}) SELECT {picked} FROM other.calls WHERE true "
                    "ON CONFLICT(key) DO UPDATE SET "
                    + ", ".join(f"{c} = excluded.{c}" for c in _CALL_COLUMNS[9:])
                    + " WHERE calls.status != 'ok' AND excluded.status = 'ok'"
                )
                scols = ", ".join(_SCORE_COLUMNS)
                self.db.execute(
                    f"INSERT INTO scores ({scols}) SELECT {scols} FROM other.scores WHERE true "
                    "ON CONFLICT(key, scorer, version) DO UPDATE SET "
                    + ", ".join(f"{c} = excluded.{c}" for c in _SCORE_COLUMNS[3:])
                    + " WHERE scores.status != 'ok' AND excluded.status = 'ok'"
                )
        finally:
            self.db.execute("DETACH DATABASE other")
        self._seq = self._max_seq()
        after = self.counts()
        return {"before": sum(before.values()), "after": sum(after.values())}
