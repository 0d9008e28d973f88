"""Faults and bad inputs at the command line: each is one exact line, exit code 2, no traceback,
and no new file (temp files included) anywhere under the output, input and cache folders.

The real CLI is driven in-process (typer's CliRunner) or, where processes matter (SIGKILL,
concurrent runs), as a subprocess. Conditions a root user cannot produce with file modes
(an unreadable file) are produced with a failing `open` instead; a full or read-only disk is
a real tmpfs mount when the tests run as root, and a failing rename at every write site always.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from routerbench.cli import app
from routerbench.data.readers import SUFFIXES
from routerbench.data.writers import write_long
from routerbench.embed.base import CacheWarning
from routerbench.experiment.evaluate import points_path
from tests.experiment.conftest import SPY, SpyRouter, two_dataset_bench

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


class SlowSpy(SpyRouter):
    """The spy router, sleeping in `fit`: a run that is still busy when a test kills it."""

    name = "slowspy"

    def __init__(
        self,
        shares=(0.0, 0.5, 1.0),
        bias: float = 0.0,
        seed: int = 0,
        cheat: bool = False,
        fail_on: str | None = None,
        delay: float = 0.0,
    ) -> None:
        super().__init__(shares, bias, seed, cheat, fail_on)
        self.delay = delay

    def fit(self, train):
        time.sleep(self.delay)
        return super().fit(train)


SLOW = "tests.test_faults:SlowSpy"


# --------------------------------------------------------------------------- helpers
def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if not p.is_dir()}


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".tmp") or ".tmp." in p.name]


@dataclass
class Env:
    """A scratch tree: input data, a config, an output folder and the cache root."""

    root: Path
    data: Path
    out: Path
    cache: Path

    def config(self, text: str | bytes, name: str = "cfg.yaml") -> Path:
        path = self.root / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    def spy_config(self, extra: str = "") -> Path:
        return self.config(
            f"data: {self.data}\nprotocols: [{{name: paper}}]\n"
            f"routers: [{{name: '{SPY}', label: spy}}]\nbootstrap: {{n_boot: 0}}\n{extra}"
        )


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Env:
    cache = tmp_path / "cache"
    monkeypatch.setenv("ROUTERBENCH_CACHE", str(cache))
    data = tmp_path / "small.csv"
    write_long(two_dataset_bench(n=30), data)
    return Env(tmp_path, data, tmp_path / "out", cache)


def invoke(args: list[str]) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def assert_one_line(env: Env, args: list, expected: str, code: int = 2) -> str:
    """Run the CLI; the error is exactly `expected` on one line, and no file appeared."""
    before = files_under(env.root)
    rc, stdout, stderr = invoke(args)
    lines = stderr.strip().splitlines()
    assert rc == code, stderr + stdout
    assert "Traceback" not in stdout + stderr, stderr
    errors = [line for line in lines if line.startswith("error:")]
    assert errors == [f"error: {expected}"], stderr
    assert lines[-1] == errors[0]
    assert files_under(env.root) == before, sorted(files_under(env.root) - before)
    assert temp_files(env.root) == []
    return stderr


def deny(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """Make `path` unreadable: by its mode for a normal user; as root (who reads anything)
    by an `open` that fails with EACCES for it, exactly as the OS would."""
    if os.geteuid() != 0:
        path.chmod(0)
        return
    import builtins

    real_open = builtins.open

    def guarded(file, *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and Path(file) == path:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded)


@contextlib.contextmanager
def tmpfs(where: Path, *, size_kib: int = 64, readonly: bool = False) -> Iterator[Path]:
    """A small tmpfs mounted at `where` (root only); full when not read-only."""
    where.mkdir(parents=True, exist_ok=True)
    opts = f"size={size_kib}k" + (",ro" if readonly else "")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(where)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        if not readonly:  # fill it: every later write of data fails with ENOSPC
            with contextlib.suppress(OSError), open(where / "filler", "wb") as f:
                while True:
                    f.write(b"\0" * 4096)
                    f.flush()
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None


@contextlib.contextmanager
def unwritable(env: Env) -> Iterator[tuple[Path, str]]:
    """A folder nothing can be written into, and the reason the CLI should give."""
    target = env.root / "locked"
    if can_mount():
        with tmpfs(target, readonly=True):
            yield target, "the file system is read-only; choose a writable path"
        return
    target.mkdir()
    target.chmod(0o555)
    try:
        yield target, "permission denied; check its permissions or choose another path"
    finally:
        target.chmod(0o755)


# --------------------------------------------------------------------------- cases
Case = Callable[[Env, pytest.MonkeyPatch], tuple[list, str]]
CASES: dict[str, Case] = {}


def case(name: str) -> Callable[[Case], Case]:
    def register(fn: Case) -> Case:
        assert name not in CASES
        CASES[name] = fn
        return fn

    return register


def _run(env: Env, cfg: Path, *more: object) -> list:
    return ["run", "--config", cfg, "--out", env.out, "--quiet", *more]


@case("run: --out is an existing file")
def _(env, mp):
    env.out.write_text("x")
    return _run(env, env.spy_config()), (
        f"{env.out}: exists and is not a folder; remove it or choose another path"
    )


@case("run: --out lies under a file")
def _(env, mp):
    blocker = env.root / "blocker"
    blocker.write_text("x")
    env.out = blocker / "out"
    return _run(env, env.spy_config()), (
        f"{env.out}: a part of the path is a file, not a folder; choose another path"
    )


@case("run: config file not found")
def _(env, mp):
    missing = env.root / "nope.yaml"
    return _run(env, missing), f"{missing}: config file not found"


@case("run: config is a folder")
def _(env, mp):
    folder = env.root / "cfgdir"
    folder.mkdir()
    return _run(env, folder), f"{folder}: is a folder, expected a YAML config file"


@case("run: config with a Latin-1 byte")
def _(env, mp):
    cfg = env.config(b"# caf\xe9 config\ndata: default\n")
    return _run(env, cfg), (
        f"{cfg}: byte 5 (0xe9, line 1) is not valid UTF-8; save the file as UTF-8"
    )


@case("run: config with a duplicate key")
def _(env, mp):
    cfg = env.config(f"data: {env.data}\nn_jobs: 1\nn_jobs: 2\n")
    return _run(env, cfg), (
        f"{cfg}: line 3, column 1: key 'n_jobs' appears twice in one mapping "
        "(first on line 2); keep one"
    )


@case("run: config with a duplicate nested key")
def _(env, mp):
    cfg = env.config("routers:\n  - name: knn\n    label: a\n    name: svr\n")
    return _run(env, cfg), (
        f"{cfg}: line 4, column 5: key 'name' appears twice in one mapping "
        "(first on line 2); keep one"
    )


@case("run: empty config file")
def _(env, mp):
    cfg = env.config("")
    return _run(env, cfg), (
        f"{cfg}: the config file is empty; give at least one key (routers, data, ...), "
        "or leave out --config for the default experiment"
    )


@case("run: config of comments only")
def _(env, mp):
    cfg = env.config("# nothing here yet\n\n")
    return _run(env, cfg), (
        f"{cfg}: the config file is empty; give at least one key (routers, data, ...), "
        "or leave out --config for the default experiment"
    )


@case("run: config is a list")
def _(env, mp):
    cfg = env.config("- data\n- out\n")
    return _run(env, cfg), f"{cfg}: the config must be a mapping of keys, got list"


@case("run: config is not YAML")
def _(env, mp):
    cfg = env.config("data: [default\n")
    return _run(env, cfg), (f"{cfg}: line 2, column 1: expected ',' or ']', but got '<stream end>'")


@case("run: config with a Python tag")
def _(env, mp):
    cfg = env.config("data: !!python/object/apply:os.system ['echo pwned']\n")
    return _run(env, cfg), (
        f"{cfg}: line 1, column 7: could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/object/apply:os.system'"
    )


@case("run: unknown dataset")
def _(env, mp):
    cfg = env.spy_config("datasets: [mmlu, hellaswag]\n")
    return _run(env, cfg), "datasets: 'hellaswag' is not in the data (it has mmlu, gsm8k)"


@case("run: unknown model")
def _(env, mp):
    cfg = env.spy_config("models: [model-0, gpt-5]\n")
    return _run(env, cfg), (
        "models: 'gpt-5' is not in the data (it has model-0, model-1, model-2, model-3)"
    )


@case("run: data file missing")
def _(env, mp):
    missing = env.root / "gone.csv"
    return _run(env, env.spy_config(), "--data", missing), f"{missing}: no such file or folder"


@case("run: data file unreadable")
def _(env, mp):
    deny(mp, env.data)
    return _run(env, env.spy_config()), (
        f"{env.data}: permission denied; check its permissions or choose another path"
    )


@case("run: data folder holding an unreadable file")
def _(env, mp):
    folder = env.root / "datadir"
    folder.mkdir()
    member = folder / "part.csv"
    shutil.copy(env.data, member)
    deny(mp, member)
    return _run(env, env.spy_config(), "--data", folder), (
        f"{member}: permission denied; check its permissions or choose another path"
    )


@case("run: data folder without data files")
def _(env, mp):
    folder = env.root / "emptydir"
    folder.mkdir()
    return _run(env, env.spy_config(), "--data", folder), (
        f"{folder}: the folder holds no data files ({', '.join(SUFFIXES)})"
    )


@case("run: unknown executor")
def _(env, mp):
    return _run(env, env.spy_config(), "--executor", "slurm"), (
        "command line: executor: Input should be 'local' or 'ray' (got 'slurm')"
    )


@case("run: unknown missing policy")
def _(env, mp):
    return _run(env, env.spy_config(), "--missing", "fillna"), (
        "command line: missing: expected one of error, keep, drop-prompts, zero (got 'fillna')"
    )


@case("run: --n-jobs 0")
def _(env, mp):
    return _run(env, env.spy_config(), "--n-jobs", "0"), (
        "Invalid value for '--n-jobs': Input should be greater than or equal to 1 "
        "(see 'routerbench run --help')"
    )


@case("run: unknown option")
def _(env, mp):
    return _run(env, env.spy_config(), "--outt", "x"), (
        "No such option: --outt (Possible options: --out, --quiet) (see 'routerbench run --help')"
    )


@case("run: embedding cache is a file")
def _(env, mp):
    blocker = env.root / "emb"
    blocker.write_text("x")
    cfg = env.spy_config(f"embedding: {{cache: {blocker}}}\n")
    return _run(env, cfg), f"embedding.cache: {blocker} is a file, expected a folder"


@case("run: --out name too long")
def _(env, mp):
    env.out = env.root / ("o" * 300)
    return _run(env, env.spy_config()), f"{env.out}: the name is too long; choose a shorter path"


@case("run: config indented with a tab")
def _(env, mp):
    cfg = env.config("bootstrap:\n\tn_boot: 5\n")
    return _run(env, cfg), (
        f"{cfg}: line 2, column 1: found character '\\t' that cannot start any token"
    )


@case("run: config is binary")
def _(env, mp):
    cfg = env.config(b"PAR1\x00\x15\x04\xff\x15")
    return _run(env, cfg), (
        f"{cfg}: byte 7 (0xff, line 1) is not valid UTF-8; save the file as UTF-8"
    )


@case("convert: .xlsx output")
def _(env, mp):
    dest = env.out / "bench.xlsx"
    return ["convert", env.data, dest], (
        f"{dest}: the output file must end in .parquet, .csv, .jsonl (got '.xlsx')"
    )


@case("convert: output without a suffix")
def _(env, mp):
    dest = env.root / "noext"
    return ["convert", env.data, dest], (
        f"{dest}: the output file must end in .parquet, .csv, .jsonl (it has no suffix)"
    )


@case("convert: output is an existing folder")
def _(env, mp):
    env.out.mkdir()
    return ["convert", env.data, env.out], (
        f"{env.out}: is a folder; give an output file ending in .parquet, .csv, .jsonl"
    )


@case("convert: output folder named like a file")
def _(env, mp):
    dest = env.root / "looks.parquet"
    dest.mkdir()
    return ["convert", env.data, dest], (
        f"{dest}: is a folder; give an output file ending in .parquet, .csv, .jsonl"
    )


@case("convert: output under a file")
def _(env, mp):
    blocker = env.root / "blocker"
    blocker.write_text("x")
    return ["convert", env.data, blocker / "b.parquet"], (
        f"{blocker}: exists and is not a folder; remove it or choose another path"
    )


@case("convert: input missing")
def _(env, mp):
    missing = env.root / "gone.csv"
    return ["convert", missing, env.out / "b.parquet"], f"{missing}: no such file or folder"


@case("convert: input unreadable")
def _(env, mp):
    deny(mp, env.data)
    return ["convert", env.data, env.out / "b.parquet"], (
        f"{env.data}: permission denied; check its permissions or choose another path"
    )


@case("convert: input folder holding an unreadable file")
def _(env, mp):
    folder = env.root / "datadir"
    folder.mkdir()
    member = folder / "part.csv"
    shutil.copy(env.data, member)
    deny(mp, member)
    return ["convert", folder, env.out / "b.parquet"], (
        f"{member}: permission denied; check its permissions or choose another path"
    )


@case("convert: unknown --from")
def _(env, mp):
    return ["convert", env.data, env.out / "b.parquet", "--from", "lmsys"], (
        "Invalid value for --from: 'lmsys' is not one of auto, routerbench, routellm, "
        "routerarena (see 'routerbench convert --help')"
    )


@case("convert: missing argument")
def _(env, mp):
    return ["convert", env.data], ("Missing argument 'dest'. (see 'routerbench convert --help')")


@case("info: input unreadable")
def _(env, mp):
    deny(mp, env.data)
    return ["info", env.data], (
        f"{env.data}: permission denied; check its permissions or choose another path"
    )


@case("info: folder holding an unreadable file")
def _(env, mp):
    folder = env.root / "datadir"
    folder.mkdir()
    member = folder / "part.csv"
    shutil.copy(env.data, member)
    deny(mp, member)
    return ["info", folder], (
        f"{member}: permission denied; check its permissions or choose another path"
    )


@case("info: input missing")
def _(env, mp):
    missing = env.root / "gone.parquet"
    return ["info", missing], f"{missing}: no such file or folder"


@case("info: unknown missing policy")
def _(env, mp):
    return ["info", env.data, "--missing", "fillna"], (
        "Invalid value for --missing: 'fillna' is not one of error, keep, drop-prompts, zero "
        "(see 'routerbench info --help')"
    )


@case("download: --dest is a file")
def _(env, mp):
    blocker = env.root / "hub"
    blocker.write_text("x")
    return ["download", "--dest", blocker, "--quiet"], (
        f"{blocker}: exists and is not a folder; remove it or choose another path"
    )


@case("download: --dest under a file")
def _(env, mp):
    blocker = env.root / "hub"
    blocker.write_text("x")
    return ["download", "--dest", blocker / "sub", "--quiet"], (
        f"{blocker / 'sub'}: a part of the path is a file, not a folder; choose another path"
    )


@case("download: a file name with a folder in it")
def _(env, mp):
    return ["download", "--dest", env.root / "hub", "--files", "../secrets", "--quiet"], (
        "files: expected a plain file name, got '../secrets'"
    )


@case("compare: a file that is not results.parquet")
def _(env, mp):
    return ["compare", env.data, env.data], (
        f"{env.data}: not an experiment output (no results.parquet in it)"
    )


# compare: cases on a finished output folder (made once per module, copied per case)
@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("finished")
    data = root / "small.csv"
    write_long(two_dataset_bench(n=30), data)
    cfg = root / "cfg.yaml"
    cfg.write_text(
        f"data: {data}\nprotocols: [{{name: paper}}]\n"
        f"routers: [{{name: '{SPY}', label: spy}}]\nbootstrap: {{n_boot: 20}}\n"
    )
    rc, _, stderr = invoke(["run", "--config", cfg, "--out", root / "out", "--quiet"])
    assert rc == 0, stderr
    return root / "out"


COMPARE_CASES: dict[str, Callable[[Path], tuple[list, str]]] = {}


def compare_case(name: str):
    def register(fn):
        COMPARE_CASES[name] = fn
        return fn

    return register


@compare_case("--alpha 2")
def _(out):
    return ["--alpha", "2"], "--alpha: expected a number strictly between 0 and 1, got 2"


@compare_case("--alpha 0")
def _(out):
    return ["--alpha", "0"], "--alpha: expected a number strictly between 0 and 1, got 0"


@compare_case("--alpha nan")
def _(out):
    return ["--alpha", "nan"], "--alpha: expected a number strictly between 0 and 1, got nan"


@compare_case("--n-boot abc")
def _(out):
    return ["--n-boot", "abc"], (
        "Invalid value for '--n-boot': Input should be a valid integer, unable to parse string "
        "as an integer (see 'routerbench compare --help')"
    )


@compare_case("truncated results.parquet")
def _(out):
    path = out / "results.parquet"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return [], (
        f"{path}: cannot read it (ArrowInvalid: truncated or not written by routerbench); "
        "re-run the experiment that wrote it"
    )


@compare_case("results.parquet is text")
def _(out):
    path = out / "results.parquet"
    path.write_text("run_id,system\n")
    return [], (
        f"{path}: cannot read it (ArrowInvalid: truncated or not written by routerbench); "
        "re-run the experiment that wrote it"
    )


@compare_case("results.parquet of another table")
def _(out):
    import pandas as pd

    path = out / "results.parquet"
    pd.DataFrame({"a": [1]}).to_parquet(path)
    return [], (f"{path}: not a results table (column 'run_id' is missing); re-run the experiment")


@compare_case("folder without results")
def _(out):
    (out / "results.parquet").unlink()
    return [], f"{out}: not an experiment output (no results.parquet in it)"


@compare_case("corrupt run.json")
def _(out):
    path = out / "run.json"
    path.write_text('{"config": ')
    return [], (
        f"{path}: cannot read it as JSON (JSONDecodeError); re-run the experiment that wrote it"
    )


@compare_case("tampered points file")
def _(out):
    path = next(iter(sorted((out / "cache" / "points").glob("*.npz"))))
    with np.load(path) as z:
        parts = {k: z[k] for k in z.files}
    parts["q"] = np.clip(parts["q"] + 0.25, 0, 1)  # well-formed, but not what the run saw
    with path.open("wb") as f:
        np.savez(f, **parts)
    return [], (
        f"{path}: the run's points file does not match its stored content hash "
        "(altered or corrupt); re-run the experiment"
    )


@compare_case("truncated points file")
def _(out):
    path = next(iter(sorted((out / "cache" / "points").glob("*.npz"))))
    path.write_bytes(path.read_bytes()[:100])
    return [], (f"{path}: the run's points file is unreadable (BadZipFile); re-run the experiment")


@compare_case("points file missing")
def _(out):
    path = next(iter(sorted((out / "cache" / "points").glob("*.npz"))))
    path.unlink()
    return [], f"{path}: the run's points file is missing; re-run the experiment"


@compare_case("--csv is a folder")
def _(out):
    return ["--csv", out], f"--csv {out}: is a folder; give a file path ending in .csv"


def test_enough_distinct_cases() -> None:
    assert len(CASES) + len(COMPARE_CASES) >= 40


@pytest.mark.parametrize("name", list(CASES))
def test_fault_is_one_line(name: str, env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    args, expected = CASES[name](env, monkeypatch)
    assert_one_line(env, args, expected)


@pytest.mark.parametrize("name", list(COMPARE_CASES))
def test_compare_fault_is_one_line(name: str, finished: Path, tmp_path: Path) -> None:
    a = tmp_path / "a"
    shutil.copytree(finished, a)
    extra, expected = COMPARE_CASES[name](a)
    assert_one_line(Env(tmp_path, a, a, a), ["compare", a, finished, *extra], expected)


# --------------------------------------------------------------------------- file systems
def test_out_on_a_read_only_place(env: Env) -> None:
    with unwritable(env) as (place, why):
        assert_one_line(env, _run_at(env, place), f"{place}: {why}")
        sub = place / "sub"
        assert_one_line(env, _run_at(env, sub), f"{sub}: {why}")


def test_convert_to_a_read_only_place(env: Env) -> None:
    with unwritable(env) as (place, why):
        dest = place / "b.csv"
        assert_one_line(env, ["convert", env.data, dest], f"{dest}: {why}")


def _run_at(env: Env, out: Path) -> list:
    return ["run", "--config", env.spy_config(), "--out", out, "--quiet"]


@pytest.mark.skipif(not can_mount(), reason="a real full disk needs root (tmpfs mount)")
def test_run_on_a_full_disk_is_one_line_with_no_leftovers(env: Env) -> None:
    with tmpfs(env.root / "full") as disk:
        out = disk / "out"
        out.mkdir()
        before = files_under(disk)
        rc, stdout, stderr = invoke([*_run_at(env, out), "--n-jobs", "2"])
        assert rc == 2, stderr
        assert "Traceback" not in stdout + stderr
        errors = [line for line in stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and errors[0] == stderr.strip().splitlines()[-1]
        assert errors[0].endswith(
            ": no space left on the device; free some space or choose another path"
        ), errors[0]
        assert errors[0].startswith(f"error: {out}/")
        assert files_under(disk) == before and temp_files(disk) == []
        dest = disk / "b.parquet"
        assert_one_line(
            Env(disk, env.data, out, env.cache),
            ["convert", env.data, dest],
            f"{dest}: no space left on the device; free some space or choose another path",
        )


def _site(path: Path, out: Path) -> str:
    """A write site: the target's place in the output tree, with run ids and names blurred."""
    rel = path.relative_to(out)
    if rel.parts[:2] == ("cache", "embeddings"):
        return "cache/embeddings"
    if len(rel.parts) == 1 or rel.parts[:-1] == ("cache",):
        return rel.as_posix()
    return "/".join(rel.parts[:-1]) + "/*." + rel.name.split(".", 1)[1]


@contextlib.contextmanager
def _no_warning() -> Iterator[None]:
    yield


def test_full_disk_at_every_write_site(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file a run writes fails in turn with ENOSPC (at its rename, after its bytes were
    written): one line naming that file, exit 2, no temp file and no partial target left."""
    cfg = env.config(
        f"data: {env.data}\nprotocols: [{{name: paper}}]\nbootstrap: {{n_boot: 0}}\n"
        "routers: [{name: knn, params: {n_neighbors: 3}}]\n"
    )
    real_replace = os.replace
    written: list[Path] = []
    fail_site: list[str] = []

    def replace(src, dst, *args, **kwargs):
        dst_path = Path(dst)
        if str(dst_path).startswith(str(out_now[0])):
            if fail_site and _site(dst_path, out_now[0]) == fail_site[0]:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            written.append(dst_path)
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    out_now = [env.root / "full-run"]
    rc, _, stderr = invoke(["run", "--config", cfg, "--out", out_now[0], "--quiet"])
    assert rc == 0, stderr
    sites = list(dict.fromkeys(_site(p, out_now[0]) for p in written))
    expected_sites = {
        "cache/embeddings", "cache/points/*.npz", "cache/routers/*.pkl", "results.parquet",
        "aiq.csv", "cache/windows.csv", "table1.csv", "run.json", "config.yaml", "index.html",
        "plots/*.png", "plots/*.svg",
    }  # fmt: skip
    assert expected_sites <= set(sites), sites
    for i, site in enumerate(sites):
        out_now[0] = env.root / f"site-{i}"
        fail_site[:] = [site]
        written.clear()
        warns = pytest.warns(CacheWarning) if site == "cache/embeddings" else _no_warning()
        with warns:
            rc, stdout, stderr = invoke(["run", "--config", cfg, "--out", out_now[0], "--quiet"])
        assert temp_files(env.root) == [], (site, temp_files(env.root))
        if site == "cache/embeddings":
            # The vector cache is an optimisation: a router warns (CacheWarning) and goes on.
            assert rc == 0, stderr
            continue
        assert rc == 2, (site, stderr)
        assert "Traceback" not in stdout + stderr
        errors = [line for line in stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and errors[0] == stderr.strip().splitlines()[-1], stderr
        assert errors[0].startswith(f"error: {out_now[0]}/"), errors[0]
        failed = Path(errors[0].removeprefix("error: ").split(": ")[0])
        assert _site(failed, out_now[0]) == site
        assert errors[0].endswith(
            ": no space left on the device; free some space or choose another path"
        )
        assert not failed.exists(), failed
        assert temp_files(env.root) == [], (site, temp_files(env.root))
        assert not (out_now[0] / ".routerbench.lock").exists()


# --------------------------------------------------------------------------- processes
def _cli(*args: object) -> list[str]:
    return [sys.executable, "-c", "from routerbench.cli import app; app()", *map(str, args)]


def _subprocess_env(env: Env) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        "ROUTERBENCH_CACHE": str(env.cache),
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
    }


def _group_alive(pgid: int) -> list[int]:
    """Pids of live (not zombie) processes in process group `pgid`, read from /proc."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[1].split()
        state, group = fields[0], int(fields[2])
        if group == pgid and state not in ("Z", "X"):
            alive.append(int(stat.parent.name))
    return alive


def _slow_config(env: Env, n_jobs: int, delay: float = 0.6) -> Path:
    """12 baseline runs and 12 router fits of `delay` seconds each (AIQ does not depend on it)."""
    return env.config(
        f"data: {env.data}\nprotocols: [{{name: paper}}]\n"
        f"routers: [{{name: '{SLOW}', label: slow, params: {{delay: {delay}}},\n"
        "            grid: {bias: [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]}}]\n"
        f"bootstrap: {{n_boot: 50, seed: 3}}\nn_jobs: {n_jobs}\n",
        name=f"slow{n_jobs}-{delay}.yaml",
    )


def _wait_until_dead(pgid: int, seconds: float = 5.0) -> list[int]:
    t0 = time.monotonic()
    while _group_alive(pgid) and time.monotonic() - t0 < seconds:
        time.sleep(0.05)
    return _group_alive(pgid)


def _wait_for_points(proc: subprocess.Popen, points: Path, n: int) -> int:
    """Wait until the run has saved `n` runs and its pool workers are up; return the count."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        saved = len(list(points.glob("*.npz"))) if points.is_dir() else 0
        if saved >= n and len(_group_alive(proc.pid)) >= 3:
            return saved
        time.sleep(0.05)
    raise AssertionError(f"the run ended or stalled before saving {n} runs (rc {proc.poll()})")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
def test_sigkill_leaves_no_process_and_resume_is_byte_identical(env: Env) -> None:
    cfg = _slow_config(env, n_jobs=2)
    out = env.root / "killed"
    proc = subprocess.Popen(
        _cli("run", "--config", cfg, "--out", out, "--quiet"),
        env=_subprocess_env(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: every process of the run is in it
    )
    points = out / "cache" / "points"
    try:
        _wait_for_points(proc, points, 2)
        assert len(_group_alive(proc.pid)) >= 3  # the driver and two pool workers (+ tracker)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)
        saved = len(list(points.glob("*.npz")))
        assert _wait_until_dead(proc.pid) == [], "processes of the killed run outlived it"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        if proc.stderr:
            proc.stderr.close()
    assert not (out / "results.parquet").exists()

    resumed = subprocess.run(
        _cli("run", "--config", cfg, "--out", out, "--quiet"),
        env=_subprocess_env(env),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    n_reused = int(resumed.stderr.split(" reused")[0].rsplit(" ", 1)[-1])
    assert n_reused == saved > 0  # every saved run verifies and is reused
    assert temp_files(out) == [] and not (out / ".routerbench.lock").exists()

    reference = env.root / "reference"  # uninterrupted, in this process, no sleeping
    rc, _, stderr = invoke(
        ["run", "--config", _slow_config(env, 1, delay=0.0), "--out", reference, "--quiet"]
    )
    assert rc == 0, stderr
    assert (out / "aiq.csv").read_bytes() == (reference / "aiq.csv").read_bytes()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_prints_what_was_saved(env: Env, sig: signal.Signals) -> None:
    cfg = _slow_config(env, n_jobs=2)
    out = env.root / "interrupted"
    proc = subprocess.Popen(
        _cli("run", "--config", cfg, "--out", out, "--quiet"),
        env=_subprocess_env(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    points = out / "cache" / "points"
    try:
        _wait_for_points(proc, points, 2)
        # Ctrl-C in a terminal reaches the whole group; `kill` reaches the driver alone.
        if sig == signal.SIGINT:
            os.killpg(proc.pid, sig)
        else:
            os.kill(proc.pid, sig)
        _, stderr = proc.communicate(timeout=30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == (130 if sig == signal.SIGINT else 143), stderr
    assert "Traceback" not in stderr
    last = stderr.strip().splitlines()[-1]
    saved = len(list(points.glob("*.npz")))
    total = int(stderr.split(" runs:")[0].rsplit("\n", 1)[-1])
    assert last == (
        f"error: interrupted: {saved} of {total} runs saved; re-run the same command to resume"
    )
    assert 0 < saved < total
    assert _wait_until_dead(proc.pid) == []
    assert temp_files(out) == [] and not (out / ".routerbench.lock").exists()


def test_two_runs_on_one_out_the_second_refuses(env: Env) -> None:
    cfg = _slow_config(env, n_jobs=1)
    out = env.root / "shared-out"
    first = subprocess.Popen(
        _cli("run", "--config", cfg, "--out", out, "--quiet"),
        env=_subprocess_env(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (out / ".routerbench.lock").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert first.poll() is None
        rc, stdout, stderr = invoke(["run", "--config", cfg, "--out", out, "--quiet"])
        assert rc == 2 and "Traceback" not in stdout + stderr
        assert stderr.strip().splitlines() == [
            f"error: another run holds {out}; wait or choose another --out"
        ]
        assert first.poll() is None  # the holder is undisturbed
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)


def test_lock_is_released_by_a_killed_holder(env: Env) -> None:
    """flock dies with its holder: after a SIGKILL the next run takes the folder at once."""
    from routerbench.experiment.runner import LOCK_FILE, OutputLock

    out = env.root / "o"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from routerbench.experiment.runner import OutputLock\n"
         "with OutputLock(sys.argv[1]):\n    print('held', flush=True); time.sleep(60)", str(out)],
        env=_subprocess_env(env), stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(Exception, match="another run holds"), OutputLock(out):
            pass
        holder.kill()
        holder.wait(10)
        with OutputLock(out):
            assert (out / LOCK_FILE).exists()
        assert not (out / LOCK_FILE).exists()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(10)
        if holder.stdout:
            holder.stdout.close()


# --------------------------------------------------------------------------- caches
def test_tampered_points_file_is_recomputed_with_a_note(env: Env) -> None:
    cfg = env.spy_config()
    rc, _, stderr = invoke(["run", "--config", cfg, "--out", env.out, "--quiet"])
    assert rc == 0, stderr
    before = (env.out / "aiq.csv").read_bytes()
    results = __import__("pandas").read_parquet(env.out / "results.parquet")
    victim = results[results["kind"] == "router"]["run_id"].iloc[0]
    path = points_path(env.out, victim)
    with np.load(path) as z:
        parts = {k: z[k] for k in z.files}
    parts["q"] = np.full_like(parts["q"], parts["q"].mean())  # CIs would collapse, AIQ not
    with path.open("wb") as f:
        np.savez(f, **parts)
    rc, _, stderr = invoke(["run", "--config", cfg, "--out", env.out, "--quiet"])
    assert rc == 0, stderr
    note = (
        f"note: {path} does not match its stored content hash (altered or corrupt); "
        "running it again"
    )
    assert note in stderr.splitlines()
    assert "1 executed" in stderr
    assert (env.out / "aiq.csv").read_bytes() == before


def test_old_points_file_without_hash_is_recomputed(env: Env) -> None:
    cfg = env.spy_config()
    assert invoke(["run", "--config", cfg, "--out", env.out, "--quiet"])[0] == 0
    before = (env.out / "aiq.csv").read_bytes()
    path = sorted((env.out / "cache" / "points").glob("*.npz"))[0]
    with np.load(path) as z:
        parts = {k: z[k] for k in z.files if k != "sha256"}
    with path.open("wb") as f:
        np.savez(f, **parts)
    rc, _, stderr = invoke(["run", "--config", cfg, "--out", env.out, "--quiet"])
    assert rc == 0 and f"note: {path} has no content hash" in stderr
    assert (env.out / "aiq.csv").read_bytes() == before


def test_one_term_vocabulary_runs(env: Env) -> None:
    """Prompts whose vocabulary is a single term: TF-IDF+SVD has one feature to work with."""
    bench = two_dataset_bench(n=30)
    bench.prompts["prompt"] = "yes"
    data = env.root / "one-term.csv"
    write_long(bench, data)
    cfg = env.config(
        f"data: {data}\nprotocols: [{{name: paper}}]\nbootstrap: {{n_boot: 0}}\n"
        "routers: [{name: knn, params: {n_neighbors: 3}}]\n"
    )
    rc, _, stderr = invoke(["run", "--config", cfg, "--out", env.out, "--quiet"])
    assert rc == 0, stderr
    assert "knn" in (env.out / "aiq.csv").read_text()


def test_embedding_cache_full_disk_leaves_no_temp(tmp_path: Path, monkeypatch) -> None:
    """The cache's own writes (shards and meta.json) clean up after ENOSPC."""
    from routerbench.embed.cache import EmbeddingCache

    cache = EmbeddingCache(tmp_path / "emb")
    real_replace = os.replace

    def full(src, dst, *a, **k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    keys = np.array([b"a" * 16, b"b" * 16], dtype="S16")
    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(OSError) as err:
        cache.store("e", keys, np.ones((2, 3), np.float32))
    monkeypatch.setattr(os, "replace", real_replace)
    assert err.value.errno == errno.ENOSPC and str(cache.folder("e")) in str(err.value.filename)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
