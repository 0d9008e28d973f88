"""On-disk store of embedding vectors keyed by (embedder name, text digest).

Shards are write-once `.npy` pairs published with `os.replace`, so concurrent runs
never see partial files, and look-ups are one `np.searchsorted` over sorted digests.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import warnings
from pathlib import Path

import numpy as np

from routerbench.embed.base import CacheWarning
from routerbench.io import atomic_path, write_text_atomic

ENV_VAR = "ROUTERBENCH_CACHE"
KEY_DTYPE = np.dtype("S16")


def default_cache_dir() -> Path:
    """``$ROUTERBENCH_CACHE/embeddings`` if set, else ``~/.cache/routerbench/embeddings``.

    The variable names routerbench's whole cache root (other caches may sit
    beside ``embeddings/``), matching the default's layout.
    """
    root = os.environ.get(ENV_VAR)
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "routerbench"
    return base / "embeddings"


def _atomic_save(path: Path, array: np.ndarray) -> None:
    """Write `array` as .npy to a private temp file, fsync, then rename over `path`.

    The rename is atomic on POSIX and Windows, so a reader sees either no file or
    a complete one; two writers of the same shard just replace equal content. The
    temp file is removed on every failure (a full disk leaves nothing behind).
    """
    with atomic_path(path, durable=True) as tmp, open(tmp, "wb") as f:
        np.save(f, array, allow_pickle=False)


class EmbeddingCache:
    """A directory of vectors, one sub-folder per embedder name.

    Parameters
    ----------
    root
        Cache directory; default `default_cache_dir()`.
    max_shards
        When an embedder's folder holds more shards than this, a `store` merges
        them into one, so look-ups open few files however many runs wrote.

    Notes
    -----
    Each `store` writes one shard: ``<id>.vecs.npy`` (float32 ``[k, d]``) and then
    ``<id>.keys.npy`` (sorted ``S16`` digests), the keys file acting as the
    commit mark. The shard id hashes its keys, so two processes storing the
    same texts write the same shard name and the second rename is harmless.
    A shard that cannot be read is reported with a `CacheWarning`, removed,
    and its vectors are simply recomputed by the caller.
    """

    def __init__(self, root: str | os.PathLike[str] | None = None, *, max_shards: int = 32) -> None:
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()
        self.max_shards = max_shards

    def __repr__(self) -> str:
        return f"EmbeddingCache({str(self.root)!r})"

    # -------------------------------------------------------------- layout
    def folder(self, name: str) -> Path:
        """The folder of one embedder: readable slug plus a hash of the full name."""
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:48].strip("_.")
        digest = hashlib.sha256(name.encode()).hexdigest()[:16]
        return self.root / f"{slug}-{digest}"

    def shards(self, name: str) -> list[Path]:
        """Committed shards (their keys files) of one embedder, oldest name order."""
        folder = self.folder(name)
        return sorted(folder.glob("*.keys.npy")) if folder.is_dir() else []

    # ------------------------------------------------------------- reading
    def _read_shard(self, keys_path: Path, dim: int | None) -> tuple[np.ndarray, np.ndarray] | None:
        """Keys and memory-mapped vectors of one shard, or None if gone or unreadable."""
        vecs_path = keys_path.with_name(keys_path.name.replace(".keys.npy", ".vecs.npy"))
        try:
            keys = np.load(keys_path, allow_pickle=False)
            vecs = np.load(vecs_path, mmap_mode="r", allow_pickle=False)
        except FileNotFoundError:
            return None  # merged away by another process between listing and reading
        except (OSError, ValueError, EOFError) as exc:
            self._discard(keys_path, vecs_path, f"unreadable ({exc})")
            return None
        ok = (
            keys.dtype == KEY_DTYPE
            and keys.ndim == 1
            and vecs.dtype == np.float32
            and vecs.ndim == 2
            and vecs.shape[0] == keys.shape[0]
            and (dim is None or vecs.shape[1] == dim)
        )
        if not ok:
            self._discard(
                keys_path,
                vecs_path,
                f"inconsistent (keys {keys.dtype}{keys.shape}, vectors {vecs.dtype}{vecs.shape})",
            )
            return None
        return keys, vecs

    def _discard(self, keys_path: Path, vecs_path: Path, why: str) -> None:
        warnings.warn(
            f"embedding cache shard {keys_path.parent.name}/{keys_path.name} is {why}; "
            "removing it and recomputing its vectors",
            CacheWarning,
            stacklevel=4,
        )
        for p in (keys_path, vecs_path):
            with contextlib.suppress(OSError):
                p.unlink()

    def _load_all(self, name: str) -> list[tuple[Path, np.ndarray, np.ndarray]]:
        out: list[tuple[Path, np.ndarray, np.ndarray]] = []
        dim: int | None = None
        for path in self.shards(name):
            shard = self._read_shard(path, dim)
            if shard is not None:
                dim = shard[1].shape[1]
                out.append((path, *shard))
        return out

    def lookup(self, name: str, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Find vectors for digests `keys` (``S16`` array) under embedder `name`.

        Returns
        -------
        found
            bool ``[n]``: True where a vector was cached.
        vectors
            float32 ``[n, d]`` (rows where not found are zero), or None when
            nothing at all is cached for this embedder (d unknown).
        """
        keys = np.asarray(keys, dtype=KEY_DTYPE)
        shards = self._load_all(name)
        found = np.zeros(len(keys), dtype=bool)
        if not shards or len(keys) == 0:
            return found, None
        all_keys = np.concatenate([k for _, k, _ in shards])
        owner = np.repeat(np.arange(len(shards)), [len(k) for _, k, _ in shards])
        row = np.concatenate([np.arange(len(k)) for _, k, _ in shards])
        order = np.argsort(all_keys, kind="stable")
        sorted_keys = all_keys[order]
        pos = np.searchsorted(sorted_keys, keys)
        pos_c = np.minimum(pos, len(sorted_keys) - 1)
        found = sorted_keys[pos_c] == keys
        hit_src = order[pos_c[found]]
        hit_owner, hit_row = owner[hit_src], row[hit_src]
        dim = shards[0][2].shape[1]
        vectors = np.zeros((len(keys), dim), dtype=np.float32)
        hit_idx = np.flatnonzero(found)
        for s in np.unique(hit_owner):
            sel = hit_owner == s
            vectors[hit_idx[sel]] = shards[s][2][hit_row[sel]]
        return found, vectors

    # ------------------------------------------------------------- writing
    def store(self, name: str, keys: np.ndarray, vectors: np.ndarray) -> Path:
        """Save `vectors` (float32 ``[k, d]``) for distinct digests `keys`; return the shard."""
        keys = np.asarray(keys, dtype=KEY_DTYPE)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if keys.ndim != 1 or vectors.ndim != 2 or len(keys) != len(vectors):
            raise ValueError(f"keys {keys.shape} and vectors {vectors.shape} do not match")
        order = np.argsort(keys, kind="stable")
        keys, vectors = keys[order], vectors[order]
        if len(keys) > 1 and (keys[1:] == keys[:-1]).any():
            raise ValueError("keys passed to EmbeddingCache.store must be distinct")
        folder = self.folder(name)
        folder.mkdir(parents=True, exist_ok=True)
        meta = folder / "meta.json"
        if not meta.exists():
            text = json.dumps({"embedder": name, "dim": int(vectors.shape[1])}, indent=1)
            write_text_atomic(meta, text, durable=True)
        path = self._write_shard(folder, keys, vectors)
        if len(self.shards(name)) > self.max_shards:
            path = self.compact(name)
        return path

    def _write_shard(self, folder: Path, keys: np.ndarray, vectors: np.ndarray) -> Path:
        shard_id = hashlib.sha256(keys.tobytes()).hexdigest()[:20]
        keys_path = folder / f"{shard_id}.keys.npy"
        _atomic_save(folder / f"{shard_id}.vecs.npy", vectors)
        _atomic_save(keys_path, keys)  # published last: the commit mark
        return keys_path

    def compact(self, name: str) -> Path:
        """Merge all of an embedder's shards into one; the old ones are removed after.

        The merged shard is written before anything is deleted, so a concurrent
        reader can at worst miss some vectors (and recompute them), never lose them.
        """
        shards = self._load_all(name)
        if not shards:
            raise FileNotFoundError(f"no cached vectors for embedder {name!r}")
        keys = np.concatenate([k for _, k, _ in shards])
        vecs = np.concatenate([np.asarray(v) for _, _, v in shards])
        keys, first = np.unique(keys, return_index=True)
        merged = self._write_shard(self.folder(name), keys, vecs[first])
        for path, _, _ in shards:
            if path != merged:
                for p in (path, path.with_name(path.name.replace(".keys.npy", ".vecs.npy"))):
                    with contextlib.suppress(OSError):
                        p.unlink()
        return merged

    def clear(self, name: str | None = None) -> None:
        """Delete one embedder's vectors, or (no name) every embedder's."""
        import shutil

        target = self.folder(name) if name is not None else self.root
        shutil.rmtree(target, ignore_errors=True)
