"""`download_routerbench` against a local imitation of the Hugging Face Hub (no network).

The server answers the HEAD/GET ``/datasets/{repo}/resolve/{rev}/{file}`` calls that
huggingface_hub makes, redirecting LFS files to a second "CDN" server as the real Hub does.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import routerbench
from routerbench.data import download as dl
from routerbench.errors import DataError, RouterBenchError

pytest.importorskip("huggingface_hub")
from huggingface_hub import constants as hf_constants

COMMIT = "0123456789abcdef0123456789abcdef01234567"
MODELS = ("gpt-4-1106-preview", "mistralai/mixtral-8x7b-chat")


def wide_pickle(n: int = 6, seed: int = 0) -> bytes:
    """A small frame in RouterBench's published wide layout, pickled."""
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {
        "sample_id": [f"mmlu-anatomy.val.{i}" for i in range(n)],
        "prompt": [str([f"question {i}?"]) for i in range(n)],
        "eval_name": ["mmlu-anatomy"] * n,
    }
    for m in MODELS:
        data[m] = rng.integers(0, 2, n).astype(float)
        data[f"{m}|model_response"] = [str([f"answer {i}"]) for i in range(n)]
        data[f"{m}|total_cost"] = rng.uniform(1e-5, 1e-3, n)
    data["oracle_model_to_route_to"] = [MODELS[0]] * n
    buf = io.BytesIO()
    pd.DataFrame(data).to_pickle(buf)
    return buf.getvalue()


@dataclass
class HubFile:
    body: bytes  # what GET returns
    sha256: str  # what the Hub advertises (X-Linked-Etag)
    size: int  # what the Hub advertises (X-Linked-Size)
    lfs: bool = True


@dataclass
class HubState:
    files: dict[str, HubFile] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    cdn: str = ""


def _handler(state: HubState) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # keep pytest output clean
            pass

        def _send(self, code: int, headers: dict[str, str], body: bytes = b"") -> None:
            self.send_response(code)
            for k, v in headers.items():
                self.send_header(k, v)
            if "Content-Length" not in headers:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command == "GET" and body:
                self.wfile.write(body)

        def _serve(self) -> None:
            state.requests.append((self.command, self.path))
            path = self.path.split("?")[0]
            if path.startswith("/cdn/"):
                f = state.files[path.rsplit("/", 1)[1]]
                self._send(200, {"Content-Type": "application/octet-stream"}, f.body)
                return
            prefix = f"/datasets/{dl.REPO_ID}/resolve/"
            if not path.startswith(prefix):
                self._send(404, {"X-Error-Code": "RepoNotFound"})
                return
            _rev, name = path[len(prefix) :].split("/", 1)
            f = state.files.get(name)
            if f is None:
                self._send(404, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": COMMIT})
                return
            common = {"X-Repo-Commit": COMMIT}
            if f.lfs:
                # The real Hub answers an LFS file with a redirect to its CDN, carrying the
                # LFS sha256 and size in X-Linked-* headers on the redirect itself.
                self._send(
                    302,
                    {
                        **common,
                        "Location": f"{state.cdn}/cdn/{name}",
                        "X-Linked-Etag": f'"{f.sha256}"',
                        "X-Linked-Size": str(f.size),
                        "ETag": '"git-pointer"',
                    },
                )
            else:
                blob = hashlib.sha1(b"blob %d\0" % len(f.body) + f.body).hexdigest()
                self._send(200, {**common, "ETag": f'"{blob}"'}, f.body)

        do_GET = _serve
        do_HEAD = _serve

    return Handler


@pytest.fixture()
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[str, HubState]]:
    """A Hub on 127.0.0.1 plus a CDN on another port; the client is isolated from ~/.cache."""
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("ROUTERBENCH_CACHE", str(tmp_path / "rb-cache"))
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hf_constants, "HF_HUB_DISABLE_TELEMETRY", True, raising=False)
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setattr(hf_constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    state = HubState()
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(state)) for _ in range(2)]
    for s in servers:
        threading.Thread(
            target=s.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
    state.cdn = f"http://127.0.0.1:{servers[1].server_address[1]}"
    yield f"http://127.0.0.1:{servers[0].server_address[1]}", state
    for s in servers:
        s.shutdown()
        s.server_close()


def publish(
    state: HubState, name: str, body: bytes, *, served: bytes | None = None, lfs: bool = True
) -> str:
    """Advertise `body`'s hash and size; serve `served` (default: the same bytes)."""
    sha = hashlib.sha256(body).hexdigest()
    state.files[name] = HubFile(
        body=body if served is None else served, sha256=sha, size=len(body), lfs=lfs
    )
    return sha


def no_file_left(dest: Path, name: str) -> bool:
    """Nothing at the final path and no staging folder left behind."""
    return not (dest / name).exists() and not list(dest.glob(".staging-*"))


def test_download_verifies_and_loads(server, tmp_path):
    endpoint, state = server
    body = wide_pickle()
    sha = publish(state, "tiny_wide.pkl", body)
    dest = tmp_path / "dest"
    (path,) = dl.download_routerbench(
        dest, files=["tiny_wide.pkl"], endpoint=endpoint, progress=False
    )
    assert path == dest / "tiny_wide.pkl"
    assert path.read_bytes() == body
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sha
    bench = routerbench.load(path)
    assert bench.shape == (6, 2) and set(bench.models) == set(MODELS)
    record = json.loads((dest / dl.MANIFEST_NAME).read_text())["tiny_wide.pkl"]
    assert (record["sha256"], record["size"], record["commit"]) == (sha, len(body), COMMIT)
    # The bytes came from the CDN, as with the real Hub's LFS redirect.
    assert ("GET", "/cdn/tiny_wide.pkl") in state.requests
    assert no_file_left(dest, "unrelated") and not list(dest.glob(".staging-*"))


def test_default_destination_honours_routerbench_cache(server, tmp_path):
    endpoint, state = server
    publish(state, "tiny_wide.pkl", wide_pickle())
    (path,) = dl.download_routerbench(files="tiny_wide.pkl", endpoint=endpoint, progress=False)
    assert path == tmp_path / "rb-cache" / "hub" / "tiny_wide.pkl"
    assert not (tmp_path / "hf-cache").exists() or not any((tmp_path / "hf-cache").rglob("*.pkl"))


def test_corrupted_body_is_refused_and_removed(server, tmp_path):
    endpoint, state = server
    body = wide_pickle()
    corrupt = bytearray(body)
    corrupt[len(corrupt) // 2] ^= 0xFF  # same size, different content
    sha = publish(state, "tiny_wide.pkl", body, served=bytes(corrupt))
    dest = tmp_path / "dest"
    with pytest.raises(DataError) as err:
        dl.download_routerbench(dest, files=["tiny_wide.pkl"], endpoint=endpoint, progress=False)
    msg = str(err.value)
    assert "tiny_wide.pkl" in msg and sha in msg
    assert hashlib.sha256(bytes(corrupt)).hexdigest() in msg
    assert no_file_left(dest, "tiny_wide.pkl")


def test_truncated_body_is_refused_and_removed(server, tmp_path):
    endpoint, state = server
    body = wide_pickle()
    publish(state, "tiny_wide.pkl", body, served=body[: len(body) // 2])
    dest = tmp_path / "dest"
    with pytest.raises(RouterBenchError, match=r"tiny_wide\.pkl"):
        dl.download_routerbench(dest, files=["tiny_wide.pkl"], endpoint=endpoint, progress=False)
    assert no_file_left(dest, "tiny_wide.pkl")


def test_plain_git_file_checked_by_blob_id(server, tmp_path):
    endpoint, state = server
    publish(state, "README.md", b"# RouterBench\n", lfs=False)
    (path,) = dl.download_routerbench(
        tmp_path, files=["README.md"], endpoint=endpoint, progress=False
    )
    assert path.read_bytes() == b"# RouterBench\n"
    etag = json.loads((tmp_path / dl.MANIFEST_NAME).read_text())["README.md"]["etag"]
    assert etag == hashlib.sha1(b"blob 14\0# RouterBench\n").hexdigest()


def test_known_hash_table_guards_published_names(server, tmp_path, monkeypatch):
    endpoint, state = server
    body = wide_pickle()
    publish(state, "routerbench_0shot.pkl", body)
    with pytest.raises(DataError) as err:
        dl.download_routerbench(
            tmp_path, files=["routerbench_0shot.pkl"], endpoint=endpoint, progress=False
        )
    assert dl.KNOWN_FILES["routerbench_0shot.pkl"].sha256 in str(err.value)
    assert not any(m == "GET" for m, _ in state.requests), "refused before downloading"
    assert no_file_left(tmp_path, "routerbench_0shot.pkl")
    # With the table matching the served file, or the check off, it downloads.
    monkeypatch.setitem(
        dl.KNOWN_FILES,
        "routerbench_0shot.pkl",
        dl.KnownFile(sha256=hashlib.sha256(body).hexdigest(), size=len(body)),
    )
    (path,) = dl.download_routerbench(
        tmp_path, files=["routerbench_0shot.pkl"], endpoint=endpoint, progress=False
    )
    assert path.read_bytes() == body


def test_cached_copy_reused_and_rechecked(server, tmp_path, monkeypatch):
    endpoint, state = server
    body = wide_pickle()
    publish(state, "tiny_wide.pkl", body)
    dest = tmp_path / "dest"
    dl.download_routerbench(dest, files=["tiny_wide.pkl"], endpoint=endpoint, progress=False)
    gets = sum(m == "GET" for m, _ in state.requests)
    # Same branch: one HEAD to see whether it moved, no new GET.
    dl.download_routerbench(dest, files=["tiny_wide.pkl"], endpoint=endpoint, progress=False)
    assert sum(m == "GET" for m, _ in state.requests) == gets
    # Pinned to the recorded commit: no request at all.
    n = len(state.requests)
    dl.download_routerbench(
        dest, files=["tiny_wide.pkl"], revision=COMMIT, endpoint=endpoint, progress=False
    )
    assert len(state.requests) == n
    # A cached file damaged on disk is fetched again and repaired.
    (dest / "tiny_wide.pkl").write_bytes(b"garbage")
    (path,) = dl.download_routerbench(
        dest, files=["tiny_wide.pkl"], endpoint=endpoint, progress=False
    )
    assert path.read_bytes() == body


def test_offline_mode(server, tmp_path, monkeypatch):
    endpoint, state = server
    body = wide_pickle()
    publish(state, "tiny_wide.pkl", body)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(dl.DownloadError, match="HF_HUB_OFFLINE"):
        dl.download_routerbench(
            tmp_path, files=["tiny_wide.pkl"], endpoint=endpoint, progress=False
        )
    assert state.requests == [] and no_file_left(tmp_path, "tiny_wide.pkl")
    # Once downloaded online, offline mode returns the verified copy.
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    dl.download_routerbench(tmp_path, files=["tiny_wide.pkl"], endpoint=endpoint, progress=False)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    n = len(state.requests)
    (path,) = dl.download_routerbench(
        tmp_path, files=["tiny_wide.pkl"], endpoint=endpoint, progress=False
    )
    assert path.read_bytes() == body and len(state.requests) == n


def dead_endpoint() -> str:
    """A 127.0.0.1 URL whose port was free a moment ago: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_server_down_is_a_clear_error(server, tmp_path):
    with pytest.raises(dl.DownloadError, match=r"cannot download tiny_wide\.pkl.*(?i:connect)"):
        dl.download_routerbench(
            tmp_path, files=["tiny_wide.pkl"], endpoint=dead_endpoint(), progress=False
        )
    assert no_file_left(tmp_path, "tiny_wide.pkl")


def test_missing_file_on_hub(server, tmp_path):
    endpoint, _ = server
    with pytest.raises(dl.DownloadError, match=r"nope\.pkl is not in withmartian/routerbench"):
        dl.download_routerbench(tmp_path, files=["nope.pkl"], endpoint=endpoint, progress=False)


def test_bad_file_names_rejected(tmp_path):
    for bad in ("../evil.pkl", "", "sub/dir.pkl", ".hidden"):
        with pytest.raises(DataError, match="plain file name"):
            dl.download_routerbench(tmp_path, files=[bad])


def test_missing_extra_says_how_to_install(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    with pytest.raises(dl.MissingDependencyError, match=r"routerbench\[hub\]"):
        dl.download_routerbench(tmp_path, files=["x.pkl"])


def test_file_digests_match_hashlib(tmp_path):
    data = np.random.default_rng(1).bytes(3 * (1 << 20) + 17)  # spans several chunks
    p = tmp_path / "blob"
    p.write_bytes(data)
    sha, git = dl.file_digests(p, git=True)
    assert sha == hashlib.sha256(data).hexdigest()
    assert git == hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def test_branch_moved_replaces_file_or_keeps_old_on_failure(server, tmp_path):
    endpoint, state = server
    old, new = wide_pickle(seed=0), wide_pickle(seed=1)
    assert old != new
    publish(state, "tiny_wide.pkl", old)
    dest = tmp_path / "dest"
    dl.download_routerbench(dest, files=["tiny_wide.pkl"], endpoint=endpoint, progress=False)
    # main now points at a new upload whose transfer arrives corrupt: the old verified
    # copy stays, untouched, and the error names both hashes.
    publish(state, "tiny_wide.pkl", new, served=old)
    with pytest.raises(DataError, match="sha256 mismatch"):
        dl.download_routerbench(dest, files=["tiny_wide.pkl"], endpoint=endpoint, progress=False)
    assert (dest / "tiny_wide.pkl").read_bytes() == old
    # Once the new upload transfers cleanly, it replaces the old one.
    publish(state, "tiny_wide.pkl", new)
    (path,) = dl.download_routerbench(
        dest, files=["tiny_wide.pkl"], endpoint=endpoint, progress=False
    )
    assert path.read_bytes() == new
    record = json.loads((dest / dl.MANIFEST_NAME).read_text())["tiny_wide.pkl"]
    assert record["sha256"] == hashlib.sha256(new).hexdigest()


def test_force_downloads_again(server, tmp_path):
    endpoint, state = server
    publish(state, "tiny_wide.pkl", wide_pickle())
    dl.download_routerbench(tmp_path, files=["tiny_wide.pkl"], endpoint=endpoint, progress=False)
    gets = sum(m == "GET" for m, _ in state.requests)
    dl.download_routerbench(
        tmp_path, files=["tiny_wide.pkl"], endpoint=endpoint, force=True, progress=False
    )
    assert sum(m == "GET" for m, _ in state.requests) == gets + 1


def test_unreachable_hub_falls_back_to_verified_copy(server, tmp_path):
    endpoint, state = server
    body = wide_pickle()
    publish(state, "tiny_wide.pkl", body)
    dl.download_routerbench(tmp_path, files=["tiny_wide.pkl"], endpoint=endpoint, progress=False)
    state.files.clear()  # the Hub now errors for this file...
    with pytest.raises(dl.DownloadError):
        dl.download_routerbench(
            tmp_path, files=["tiny_wide.pkl"], endpoint=endpoint, progress=False
        )
    # ...while a dead endpoint (network down) falls back to the cached copy, with a warning.
    with pytest.warns(UserWarning, match="verified cached copy"):
        (path,) = dl.download_routerbench(
            tmp_path, files=["tiny_wide.pkl"], endpoint=dead_endpoint(), progress=False
        )
    assert path.read_bytes() == body
