"""Fetch RouterBench's published pickles from the Hugging Face Hub, verified and atomic.

A file reaches its final path only once its size and sha256 match the Hub's metadata and
the hashes recorded here, so no result rests on a truncated or silently changed download.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import uuid
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from routerbench.errors import DataError, DownloadError, MissingDependencyError, RouterBenchError
from routerbench.io import write_text_atomic

REPO_ID = "withmartian/routerbench"
REPO_TYPE = "dataset"
DEFAULT_FILES: tuple[str, ...] = ("routerbench_0shot.pkl", "routerbench_5shot.pkl")
#: The Hub commit the published hashes below were taken at ("Delete routerbench_rag.pkl").
PUBLISHED_REVISION = "784021482c3f320c6619ed4b3bb3b41a21424fcb"
MANIFEST_NAME = ".routerbench-manifest"
_CHUNK = 1 << 20
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SHA1 = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class KnownFile:
    """Size and sha256 of one published file, as recorded by independent users of it."""

    sha256: str
    size: int | None = None


#: The published files as the paper's users downloaded them (revision `PUBLISHED_REVISION`).
#: Two unrelated public projects record the same sha256 for each; the 0-shot size is from
#: one of them. A file not listed here is checked against the Hub's metadata only.
KNOWN_FILES: dict[str, KnownFile] = {
    "routerbench_0shot.pkl": KnownFile(
        sha256="ba4f77f19517610a707c374e99322d7750c30fc4ae7ff5527888595a1e65d36d",
        size=99_567_659,
    ),
    "routerbench_5shot.pkl": KnownFile(
        sha256="fbd7d3d16fba2759a18fa0ad44409d3e0e92ba80d03d90827eed1a6d084c9ffe",
    ),
}


@dataclass(frozen=True)
class _Remote:
    """What the Hub says about one file at one revision (from a HEAD request)."""

    url: str
    commit: str
    etag: str
    size: int | None

    @property
    def sha256(self) -> str | None:
        """The LFS sha256 (the Hub's ETag of an LFS file), None for a plain git file."""
        return self.etag if _SHA256.match(self.etag) else None

    @property
    def git_sha1(self) -> str | None:
        """The git blob id (the Hub's ETag of a non-LFS file)."""
        return self.etag if _SHA1.match(self.etag) else None


# ---------------------------------------------------------------- locations
def default_cache_dir() -> Path:
    """Where downloads go unless told otherwise: ``$ROUTERBENCH_CACHE/hub``.

    ``ROUTERBENCH_CACHE`` defaults to ``$XDG_CACHE_HOME/routerbench`` (usually
    ``~/.cache/routerbench``), so every routerbench cache lives under one root
    the user can move or wipe.
    """
    root = os.environ.get("ROUTERBENCH_CACHE")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        root = str(Path(xdg) / "routerbench")
    return Path(root).expanduser() / "hub"


# ------------------------------------------------------------------ hashing
def file_digests(path: Path, *, git: bool = False) -> tuple[str, str | None]:
    """The sha256 (and, if asked, the git blob sha1) of a file, read in 1 MiB chunks.

    Streaming keeps memory flat for the 5-shot pickle; both digests come from one read.
    """
    sha = hashlib.sha256()
    blob = None
    if git:
        blob = hashlib.sha1(usedforsecurity=False)
        blob.update(b"blob %d\0" % path.stat().st_size)
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            sha.update(chunk)
            if blob is not None:
                blob.update(chunk)
    return sha.hexdigest(), None if blob is None else blob.hexdigest()


def _check_file(
    path: Path,
    name: str,
    *,
    size: int | None,
    sha256: str | None,
    git_sha1: str | None = None,
    what: str,
) -> str:
    """Raise `DataError` unless `path` has the expected size and hashes; return its sha256."""
    got_size = path.stat().st_size
    if size is not None and got_size != size:
        raise DataError(
            f"size mismatch: expected {size} bytes ({what}), got {got_size}", source=name
        )
    got_sha, got_git = file_digests(path, git=git_sha1 is not None)
    if sha256 is not None and got_sha != sha256:
        raise DataError(f"sha256 mismatch: expected {sha256} ({what}), got {got_sha}", source=name)
    if git_sha1 is not None and got_git != git_sha1:
        raise DataError(
            f"git blob sha1 mismatch: expected {git_sha1} ({what}), got {got_git}", source=name
        )
    return got_sha


def _check_known(name: str, sha256: str | None, size: int | None, *, where: str) -> None:
    """Refuse a published file whose hash differs from the one the paper's users had."""
    known = KNOWN_FILES.get(name)
    if known is None:
        return
    if sha256 is not None and sha256 != known.sha256:
        raise DataError(
            f"{where} has sha256 {sha256}, but the published file has {known.sha256}; "
            f"pin revision={PUBLISHED_REVISION!r} or pass check_known=False (CLI --no-check-known) "
            "to accept the new file",
            source=name,
        )
    if size is not None and known.size is not None and size != known.size:
        raise DataError(
            f"{where} is {size} bytes, but the published file is {known.size}; "
            "pass check_known=False to accept it",
            source=name,
        )


# ----------------------------------------------------------------- manifest
def _read_manifest(dest: Path) -> dict[str, dict[str, Any]]:
    """Records of earlier verified downloads; an unreadable manifest counts as empty."""
    try:
        data = json.loads((dest / MANIFEST_NAME).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_manifest(dest: Path, manifest: Mapping[str, Any]) -> None:
    """Replace the manifest atomically, so a crash leaves the old one or the new one."""
    write_text_atomic(dest / MANIFEST_NAME, json.dumps(manifest, indent=2, sort_keys=True))


def _cached_ok(final: Path, record: Mapping[str, Any] | None) -> bool:
    """True when the file on disk is exactly the one the manifest recorded."""
    if record is None or not final.is_file():
        return False
    try:
        _check_file(
            final,
            final.name,
            size=record.get("size"),
            sha256=record.get("sha256"),
            what="recorded at download",
        )
    except DataError:
        return False
    return True


# ---------------------------------------------------------------- the hub
def _import_hub() -> Any:
    """huggingface_hub, imported on demand: only this command needs it."""
    try:
        import huggingface_hub
        import huggingface_hub.constants
        import huggingface_hub.utils
    except ImportError as exc:
        raise MissingDependencyError(
            "downloading needs huggingface_hub, which is not installed: "
            "pip install 'routerbench[hub]'"
        ) from exc
    return huggingface_hub


def _hub_offline(hub: Any) -> bool:
    """True when the user asked the Hub client to stay offline (HF_HUB_OFFLINE=1)."""
    return bool(getattr(hub.constants, "HF_HUB_OFFLINE", False))


def _explain(exc: BaseException, name: str, revision: str, endpoint: str) -> DownloadError:
    """Turn a huggingface_hub/transport exception into one line a user can act on."""
    from huggingface_hub import utils as hf_utils

    kind = type(exc).__name__
    where = f"{REPO_ID}@{revision} on {endpoint}"
    if isinstance(exc, getattr(hf_utils, "RevisionNotFoundError", ())):
        msg = f"revision {revision!r} does not exist in {REPO_ID} ({endpoint})"
    elif isinstance(exc, getattr(hf_utils, "EntryNotFoundError", ())):
        msg = f"{name} is not in {where}"
    elif isinstance(exc, getattr(hf_utils, "RepositoryNotFoundError", ())):
        msg = f"dataset {REPO_ID} not found (or not accessible) on {endpoint}"
    elif isinstance(exc, getattr(hf_utils, "OfflineModeIsEnabled", ())):
        msg = f"offline mode is on (HF_HUB_OFFLINE=1); cannot fetch {name}"
    elif isinstance(exc, getattr(hf_utils, "HfHubHTTPError", ())):
        status = getattr(getattr(exc, "response", None), "status_code", "?")
        msg = f"the Hub answered HTTP {status} for {name} in {where}"
    else:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        msg = f"cannot download {name} from {where}: {kind}: {first}".rstrip(": ")
    return DownloadError(msg)


def _definitive(exc: BaseException) -> bool:
    """True for the Hub's own "no such repo/revision/file": a cached copy must not mask it.

    Only transport failures (no connection, timeout, 5xx) fall back to a cached copy.
    """
    from huggingface_hub import utils as hf_utils

    names = ("RevisionNotFoundError", "EntryNotFoundError", "RepositoryNotFoundError")
    kinds = tuple(k for k in (getattr(hf_utils, n, None) for n in names) if k is not None)
    return isinstance(exc, kinds)


def _remote(hub: Any, name: str, revision: str, endpoint: str | None, token: Any) -> _Remote:
    """HEAD the file: commit, ETag (the LFS sha256) and size, without downloading."""
    url = hub.hf_hub_url(REPO_ID, name, repo_type=REPO_TYPE, revision=revision, endpoint=endpoint)
    meta = hub.get_hf_file_metadata(url, token=token, endpoint=endpoint)
    if not meta.commit_hash or not meta.etag:
        raise DownloadError(
            f"{url} answered without X-Repo-Commit/ETag headers: is the endpoint a Hugging "
            "Face Hub (HF_ENDPOINT)?"
        )
    etag = str(meta.etag).strip('"').removeprefix("W/").strip('"').lower()
    return _Remote(url=url, commit=str(meta.commit_hash), etag=etag, size=meta.size)


def _tqdm_class(hub: Any, progress: bool) -> Any:
    """None (the Hub's own bars) or a silenced bar class."""
    if progress:
        return None
    base = hub.utils.tqdm

    class _Silent(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)

    return _Silent


def _fetch(
    hub: Any,
    name: str,
    remote: _Remote,
    dest: Path,
    *,
    endpoint: str | None,
    token: Any,
    progress: bool,
    check_known: bool,
) -> tuple[Path, str]:
    """Download into a private staging folder next to `dest`, verify, then move into place.

    The staging folder is on the same filesystem as the final path, so the final
    `os.replace` is atomic, and it is removed whatever happens: a file reaches
    ``dest/<name>`` only after every check passed. Returns (path, sha256).
    """
    staging = dest / f".staging-{uuid.uuid4().hex[:12]}"
    staging.mkdir(parents=True)
    try:
        kwargs: dict[str, Any] = {}
        tqdm_class = _tqdm_class(hub, progress)
        if tqdm_class is not None:
            kwargs["tqdm_class"] = tqdm_class
        try:
            got = hub.hf_hub_download(
                REPO_ID,
                name,
                repo_type=REPO_TYPE,
                revision=remote.commit,
                local_dir=staging,
                endpoint=endpoint,
                token=token,
                **kwargs,
            )
        except RouterBenchError:
            raise
        except Exception as exc:  # any transport failure becomes one message
            raise _explain(exc, name, remote.commit, endpoint or hub.constants.ENDPOINT) from exc
        staged = Path(got).resolve()
        final = dest / name
        try:
            sha = _check_file(
                staged,
                name,
                size=remote.size,
                sha256=remote.sha256,
                git_sha1=remote.git_sha1,
                what=f"the Hub's metadata for commit {remote.commit}",
            )
            if check_known:
                _check_known(name, sha, staged.stat().st_size, where=f"the downloaded {name}")
        except DataError as exc:
            raise DataError(
                f"{exc.detail}; the download was discarded, nothing was written to {final}",
                source=name,
            ) from None
        os.replace(staged, final)
        return final, sha
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# ------------------------------------------------------------------- public
def download_routerbench(
    dest: Path | str | None = None,
    files: Iterable[str] = DEFAULT_FILES,
    revision: str = "main",
    endpoint: str | None = None,
    token: str | bool | None = None,
    *,
    check_known: bool = True,
    force: bool = False,
    progress: bool = True,
) -> list[Path]:
    """Download RouterBench's published files, verified, into a local folder.

    Each file is fetched through ``huggingface_hub`` (install ``routerbench[hub]``),
    then its size and sha256 are checked against the Hub's metadata (the LFS
    ETag) and, for the two published pickles, against the hashes in
    `KNOWN_FILES`. Only a verified file is moved to ``dest/<name>``; a failed or
    corrupt download leaves nothing there. A manifest in `dest` records what was
    verified, so a later call returns the cached file without the network when
    `revision` is a commit hash or offline mode is on (it re-hashes the file).

    Parameters
    ----------
    dest
        Folder for the files; default `default_cache_dir()` (``ROUTERBENCH_CACHE``).
    files
        File names in the dataset repo ``withmartian/routerbench``.
    revision
        Branch, tag or commit; the commit the Hub resolves it to is recorded.
    endpoint
        Hub URL (a mirror, or a local test server); default ``HF_ENDPOINT``.
    token
        Passed to huggingface_hub (None: the saved login, if any).
    check_known
        Refuse a published file whose hash differs from the paper-era file, so a
        changed upload cannot silently change results.
    force
        Download again even if a verified copy is cached.
    progress
        Show huggingface_hub's progress bars.

    Returns
    -------
    list of Path
        The verified files, in the order of `files`.
    """
    names = [files] if isinstance(files, str) else list(files)
    for name in names:
        if not name or Path(name).name != name or name.startswith("."):
            raise DataError(f"expected a plain file name, got {name!r}", source="files")
    dest = Path(dest).expanduser() if dest is not None else default_cache_dir()
    dest.mkdir(parents=True, exist_ok=True)
    hub = _import_hub()
    offline = _hub_offline(hub)
    manifest = _read_manifest(dest)
    pinned = bool(_SHA1.match(revision))
    out: list[Path] = []
    for name in names:
        final = dest / name
        record = manifest.get(name)
        same_rev = record is not None and revision in (record.get("revision"), record.get("commit"))
        verified = _cached_ok(final, record)
        cached = verified and not force
        if cached and check_known and record is not None:
            _check_known(
                name, record.get("sha256"), record.get("size"), where=f"the cached {final}"
            )
        if cached and (offline or (pinned and same_rev)):
            out.append(final)
            continue
        if offline:
            raise DownloadError(
                f"offline mode is on (HF_HUB_OFFLINE=1) and no verified copy of {name} is in "
                f"{dest}; unset HF_HUB_OFFLINE or download it once while online"
            )
        try:
            remote = _remote(hub, name, revision, endpoint, token)
        except RouterBenchError:
            raise
        except Exception as exc:  # network failures become one clear message
            err = _explain(exc, name, revision, endpoint or hub.constants.ENDPOINT)
            if cached and not _definitive(exc):
                warnings.warn(f"{err}; using the verified cached copy {final}", stacklevel=2)
                out.append(final)
                continue
            raise err from exc
        if check_known:
            _check_known(
                name,
                remote.sha256,
                remote.size,
                where=f"the Hub's {name} at {revision!r} (commit {remote.commit})",
            )
        unchanged = record is not None and (
            remote.etag == record.get("etag") or remote.sha256 == record.get("sha256")
        )
        if cached and unchanged and record is not None:
            sha = str(record["sha256"])
        else:
            if not verified and final.exists():
                final.unlink()  # unverified or corrupt: never leave it where a reader finds it
            final, sha = _fetch(
                hub,
                name,
                remote,
                dest,
                endpoint=endpoint,
                token=token,
                progress=progress,
                check_known=check_known,
            )
        manifest[name] = {
            "sha256": sha,
            "size": final.stat().st_size,
            "revision": revision,
            "commit": remote.commit,
            "etag": remote.etag,
            "url": remote.url,
            "verified_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        _write_manifest(dest, manifest)
        out.append(final)
    return out
