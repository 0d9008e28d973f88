"""A suite of malformed files: each defect gets its own clear error and a non-zero exit.

Every case is run twice: through `routerbench.load` (the message must name the
file and the specific defect) and through `routerbench convert` (exit code 2, one
line on stderr, and no output file — not even a partial one — left behind).
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import routerbench
from routerbench.cli import app
from routerbench.errors import DataError

MODELS = ("m-a", "m-b")


def long_frame(n: int = 3) -> pd.DataFrame:
    rows = []
    for i in range(n):
        for j, m in enumerate(MODELS):
            rows.append(
                {
                    "sample_id": f"id{i}",
                    "task": "mmlu-astronomy",
                    "prompt": f"p{i}",
                    "model": m,
                    "quality": float((i + j) % 2),
                    "cost": 0.001 * (j + 1),
                }
            )
    return pd.DataFrame(rows)


def wide_frame(n: int = 3) -> pd.DataFrame:
    data: dict[str, list] = {
        "sample_id": [f"arc.{i}" for i in range(n)],
        "prompt": [repr([f"question {i}"]) for i in range(n)],
        "eval_name": ["arc-challenge"] * n,
    }
    for j, m in enumerate(MODELS):
        data[m] = [float((i + j) % 2) for i in range(n)]
    for m in MODELS:
        data[f"{m}|model_response"] = [repr(["A"]) for _ in range(n)]
    for j, m in enumerate(MODELS):
        data[f"{m}|total_cost"] = [0.001 * (j + 1)] * n
    data["oracle_model_to_route_to"] = ["m-a"] * n
    return pd.DataFrame(data)


def write_csv(df: pd.DataFrame) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        p = d / "data.csv"
        df.to_csv(p, index=False)
        return p

    return make


def edit(df: pd.DataFrame, fn: Callable[[pd.DataFrame], pd.DataFrame | None]) -> pd.DataFrame:
    df = df.copy()
    out = fn(df)
    return df if out is None else out


def set_cell(col: str, row: int, value) -> Callable[[pd.DataFrame], None]:
    def fn(df: pd.DataFrame) -> None:
        df[col] = df[col].astype(object)
        df.loc[row, col] = value

    return fn


def raw(name: str, data: bytes) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        p = d / name
        p.write_bytes(data)
        return p

    return make


class _Evil:
    def __reduce__(self):
        import os

        return (os.system, ("echo pwned",))


def _truncated_pickle() -> bytes:
    buf = io.BytesIO()
    wide_frame().to_pickle(buf)
    data = buf.getvalue()
    return data[: len(data) // 2]


def _conflicting_split() -> pd.DataFrame:
    df = wide_frame()
    dup = df.iloc[[0]].copy()
    dup["m-a"] = 1.0 - dup["m-a"]
    return pd.concat([df, dup], ignore_index=True)


CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "empty file": (raw("empty.csv", b""), "the file is empty"),
    "header only": (
        raw("h.csv", b"sample_id,task,prompt,model,quality,cost\n"),
        "the table has no rows",
    ),
    "missing column": (
        write_csv(long_frame().drop(columns=["cost"])),
        "required column(s) missing: cost",
    ),
    "non-numeric quality": (
        write_csv(edit(long_frame(), set_cell("quality", 2, "abc"))),
        "expected a number, got 'abc'",
    ),
    "quality out of range": (
        write_csv(edit(long_frame(), set_cell("quality", 1, 1.5))),
        "quality 1.5 of model 'm-b' is outside [0, 1]",
    ),
    "negative cost": (
        write_csv(edit(long_frame(), set_cell("cost", 0, -0.5))),
        "cost -0.5 of model 'm-a' must be finite and >= 0",
    ),
    "non-finite cost": (
        write_csv(edit(long_frame(), set_cell("cost", 3, "inf"))),
        "must be finite and >= 0",
    ),
    "empty quality": (
        write_csv(edit(long_frame(), set_cell("quality", 4, None))),
        "quality is empty",
    ),
    "duplicate pair": (
        write_csv(pd.concat([long_frame(), long_frame().iloc[[2]]])),
        "duplicate (sample_id, model) pair ('id1', 'm-a')",
    ),
    "model missing for a prompt": (
        write_csv(long_frame().drop(index=[3])),
        "cells are not measured",
    ),
    "empty sample_id": (
        write_csv(edit(long_frame(), set_cell("sample_id", 1, ""))),
        "column 'sample_id', row 1: value is empty",
    ),
    "two tasks for one prompt": (
        write_csv(edit(long_frame(), set_cell("task", 1, "mbpp"))),
        "has two different tasks",
    ),
    "truncated pickle": (raw("rb.pkl", _truncated_pickle()), "truncated or corrupt pickle"),
    "pickle of a list": (raw("list.pkl", pickle.dumps([1, 2, 3])), "expected a pandas DataFrame"),
    "pickle running code": (raw("evil.pkl", pickle.dumps(_Evil())), "refusing to load global"),
    "wide: cost column without performance": (
        write_csv(wide_frame().drop(columns=["m-b"])),
        "model 'm-b' has a 'm-b|total_cost' column but no performance column",
    ),
    "wide: missing eval_name": (
        write_csv(wide_frame().drop(columns=["eval_name"])),
        "layout missing: eval_name",
    ),
    "wide: non-numeric performance": (
        write_csv(edit(wide_frame(), set_cell("m-a", 1, "yes"))),
        "expected a number, got 'yes'",
    ),
    "wide: conflicting split rows": (
        write_csv(_conflicting_split()),
        "appears in two rows with different results",
    ),
    "wide: cost empty where a result exists": (
        write_csv(edit(wide_frame(), set_cell("m-b|total_cost", 2, None))),
        "cost is empty where the model has a result",
    ),
    "malformed jsonl": (
        raw("d.jsonl", b'{"sample_id": "a", "task": "x"\n{oops\n'),
        "cannot read as jsonl",
    ),
}


def test_at_least_twelve_distinct_defects() -> None:
    assert len(CASES) >= 12
    assert len({frag for _, frag in CASES.values()}) == len(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_load_names_the_defect(case: str, tmp_path: Path) -> None:
    make, fragment = CASES[case]
    path = make(tmp_path)
    with pytest.raises(DataError) as err:
        routerbench.load(path)
    msg = str(err.value)
    assert fragment in msg, msg
    assert str(path) in msg
    assert "\n" not in msg


@pytest.mark.parametrize("case", sorted(CASES))
def test_cli_exits_nonzero_and_leaves_no_output(case: str, tmp_path: Path) -> None:
    make, fragment = CASES[case]
    src = make(tmp_path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = CliRunner().invoke(
        app, ["convert", str(src), str(out_dir / "bench.parquet"), "--missing", "error"]
    )
    assert result.exit_code == 2, result.output
    assert "error:" in result.output
    assert fragment.split("(")[0].strip() in " ".join(result.output.split())
    assert list(out_dir.iterdir()) == []
    assert "Traceback" not in result.output


def test_write_failure_leaves_no_partial_file(tmp_path: Path, monkeypatch) -> None:
    """A writer that dies half-way must not leave the target or a temp file behind."""
    from routerbench.data import writers
    from tests.conftest import make_bench

    def boom(self, path, **kwargs):
        Path(path).write_bytes(b"PAR1 partial")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", boom)
    with pytest.raises(OSError, match="disk full"):
        writers.write_long(make_bench(), tmp_path / "x.parquet")
    assert list(tmp_path.iterdir()) == []


def test_pickle_is_detected_by_content_not_suffix(tmp_path: Path) -> None:
    p = tmp_path / "looks_like.csv"
    wide_frame().to_pickle(p)
    bench = routerbench.load(p)
    assert bench.shape == (3, 2)


def test_parquet_is_detected_by_content(tmp_path: Path) -> None:
    p = tmp_path / "bench.data"
    long_frame().to_parquet(p)
    assert routerbench.load(p).shape == (3, 2)


def test_routerbench_raw_long_pickle(tmp_path: Path) -> None:
    """`routerbench_raw.pkl`: one row per prompt × model with RouterBench's column names."""
    rows = []
    for i in range(3):
        for j, m in enumerate(MODELS):
            rows.append(
                {
                    "sample_id": f"s{i}",
                    "prompt": repr([f"q{i}", "turn two"]),
                    "eval_name": "mmlu-astronomy",
                    "model_name": m,
                    "model_response": repr([f"answer {i}{j}"]),
                    "performance": (i + j) % 2 == 0,
                    "cost": 0.01 * (j + 1),
                }
            )
    p = tmp_path / "routerbench_raw.pkl"
    pd.DataFrame(rows).to_pickle(p)
    bench = routerbench.load(p)
    assert bench.models == MODELS
    assert bench.prompts["prompt"].iloc[1] == "q1\n\nturn two"
    assert bench.prompts["dataset"].iloc[0] == "mmlu"
    assert bench.quality.tolist() == [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]
    assert bench.responses is not None and bench.responses.load()[2, 1] == "answer 21"
