"""Request identity: what makes two calls "the same cell", on any machine.

A request is identified by its parts: the task row (template version, sample_id, task,
rendered messages) and the model (benchmark name, base_url, upstream id, decoding
params, streaming) plus a repeat index. Each part is hashed once (BLAKE2b, canonical
JSON); the 128-bit request key hashes the two digests and the repeat. A 64-bit cell id
mixes the same digests with vectorised arithmetic, so planning a million cells and
finding the missing ones takes milliseconds, not a million hash calls.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from routerbench.collect.store import canonical_json
from routerbench.collect.tasks import TEMPLATE_VERSION, Task
from routerbench.endpoints import ModelEndpoint

__all__ = [
    "answer_key",
    "answer_request",
    "cell_ids",
    "digest",
    "key_cell",
    "model_digest",
    "model_identity",
    "task_digests",
]


def digest(obj: Any) -> bytes:
    """16-byte BLAKE2b of an object's canonical JSON."""
    return hashlib.blake2b(canonical_json(obj).encode(), digest_size=16).digest()


def task_identity(task: Task) -> list[Any]:
    return [TEMPLATE_VERSION, task.sample_id, task.task, [list(m) for m in task.messages]]


def model_identity(ep: ModelEndpoint) -> dict[str, Any]:
    return {
        "name": ep.name,
        "base_url": ep.base_url,
        "model": ep.model,
        "params": ep.params,
        "stream": ep.stream,
    }


def task_digests(tasks: Sequence[Task]) -> list[bytes]:
    return [digest(task_identity(t)) for t in tasks]


def model_digest(ep: ModelEndpoint) -> bytes:
    return digest(model_identity(ep))


def answer_request(task: Task, ep: ModelEndpoint, repeat: int) -> dict[str, Any]:
    """The canonical request stored with the call (what the key stands for)."""
    return {"task": task_identity(task), "model": model_identity(ep), "repeat": repeat}


def answer_key(task_digest: bytes, model_dig: bytes, repeat: int) -> bytes:
    return hashlib.blake2b(
        task_digest + model_dig + repeat.to_bytes(4, "little"), digest_size=16
    ).digest()


_U64 = np.uint64


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, elementwise on uint64 (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = x + _U64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> _U64(27))) * _U64(0x94D049BB133111EB)
        return z ^ (z >> _U64(31))


def digests_u64(digests: Sequence[bytes]) -> np.ndarray:
    """The first 8 bytes of each 16-byte digest as uint64."""
    buf = b"".join(d[:8] for d in digests)
    return np.frombuffer(buf, dtype="<u8").astype(np.uint64)


def cell_ids(task_u64: np.ndarray, model_dig: bytes, repeat: int) -> np.ndarray:
    """64-bit cell ids of every task × one model × one repeat (vectorised)."""
    m = _mix(np.array([int.from_bytes(model_dig[:8], "little") ^ repeat], dtype=np.uint64))[0]
    return _mix(np.asarray(task_u64, dtype=np.uint64) ^ m).view(np.int64)


def key_cell(key: bytes) -> int:
    """Cell id of a call that is not an answer cell (judge calls): the key's first 8 bytes."""
    return int.from_bytes(key[:8], "little", signed=True)
