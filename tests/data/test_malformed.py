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
        "column 'sample_id', row 2: value is empty",  # the file's 2nd row, 1-based
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


def write_text(name: str, text: str) -> Callable[[Path], Path]:
    return raw(name, text.encode())


def _folder(*parts: tuple[str, pd.DataFrame]) -> Callable[[Path], Path]:
    """A folder of CSVs written with pandas' unnamed index column, like the published cuts."""

    def make(d: Path) -> Path:
        folder = d / "rows"
        folder.mkdir()
        for name, frame in parts:
            frame.to_csv(folder / name, index=True)
        return folder

    return make


def _wide_parts() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Six wide rows cut into two files whose row order differs from the index order."""
    df = wide_frame(6)
    df.index = [10, 11, 12, 13, 14, 15]
    return df.iloc[[3, 0, 5]], df.iloc[[4, 1, 2]]  # a: 13, 10, 15; b: 14, 11, 12


def _bad_second_file() -> Callable[[Path], Path]:
    a, b = _wide_parts()
    b = b.copy()
    b["m-a"] = b["m-a"].astype(object)
    b.iloc[2, b.columns.get_loc("m-a")] = "n/a?"  # b.csv, 3rd data row (index 12)
    return _folder(("a.csv", a), ("b.csv", b))


def _wide_without_cost(drop_response: bool) -> pd.DataFrame:
    cols = ["m-b|total_cost"] + (["m-b|model_response"] if drop_response else [])
    return wide_frame().drop(columns=cols)


#: Issue 9: bad data that used to load silently. Each expects the *exact* one-line
#: message; ``{path}`` is the file the make function returns (for folders, ``{member}``
#: names the member file).
EXACT: dict[str, tuple[Callable[[Path], Path], str]] = {
    "jsonl record with a key twice": (
        write_text(
            "dup.jsonl",
            '{"sample_id": "a", "task": "x", "prompt": "p", "model": "m", "quality": 1, '
            '"cost": 0.1}\n'
            '{"sample_id": "b", "task": "x", "prompt": "p", "model": "m", "quality": 1, '
            '"cost": 0.1, "quality": 0}\n',
        ),
        "{path}, column 'quality', row 2: the record gives the key 'quality' twice",
    ),
    "json object with a key twice": (
        write_text(
            "dup.json",
            '[{"sample_id": "a", "task": "x", "prompt": "p", "model": "m", "quality": 1, '
            '"cost": 0.1, "cost": 0.2}]',
        ),
        "{path}, column 'cost': a JSON object gives the key 'cost' twice",
    ),
    "csv header with a column twice": (
        write_text(
            "dup.csv",
            "sample_id,task,prompt,model,quality,cost,quality\nid0,mmlu-x,p,m-a,1,0.1,0\n",
        ),
        "{path}, column 'quality': column name appears twice in the header (columns 5 and 7)",
    ),
    "wide: performance column without cost (response kept)": (
        write_csv(_wide_without_cost(drop_response=False)),
        "{path}, column 'm-b|model_response': model 'm-b' has a 'm-b|model_response' column "
        "but no 'm-b|total_cost' column; each model needs a performance and a cost column",
    ),
    "wide: performance column without cost": (
        write_csv(_wide_without_cost(drop_response=True)),
        "{path}, column 'm-b': column 'm-b' holds numbers like a model's performance column "
        "but there is no 'm-b|total_cost' column, so its results cannot be priced; add the "
        "cost column or remove this one",
    ),
    "long: empty prompt": (
        write_csv(edit(long_frame(), set_cell("prompt", 3, ""))),
        "{path}, column 'prompt', row 4: value is empty",
    ),
    "long: blank prompt": (
        write_csv(edit(long_frame(), set_cell("prompt", 5, "   "))),
        "{path}, column 'prompt', row 6: value is empty",
    ),
    "wide: empty prompt list": (
        write_csv(edit(wide_frame(), set_cell("prompt", 1, "['']"))),
        "{path}, column 'prompt', row 2 (sample_id 'arc.1'): value is empty",
    ),
    "long: model names differing by whitespace": (
        write_csv(edit(long_frame(), set_cell("model", 4, "m-a "))),
        "{path}, column 'model', row 5 (sample_id 'id2'): model names 'm-a' and 'm-a ' "
        "differ only by surrounding whitespace; write one name for one model",
    ),
    "wide: model names differing by whitespace": (
        write_csv(
            wide_frame().rename(
                columns={
                    "m-b": " m-a",
                    "m-b|total_cost": " m-a|total_cost",
                    "m-b|model_response": " m-a|model_response",
                }
            )
        ),
        "{path}, column ' m-a': model names 'm-a' and ' m-a' differ only by surrounding "
        "whitespace; write one name for one model",
    ),
    "long: out-of-range quality names the file's row": (
        write_csv(edit(long_frame(), set_cell("quality", 3, 2.0))),
        "{path}, column 'quality', row 4 (sample_id 'id1'): quality 2.0 of model 'm-b' is "
        "outside [0, 1]",
    ),
    "wide: negative cost names the file's row": (
        write_csv(edit(wide_frame(), set_cell("m-a|total_cost", 2, -1.0))),
        "{path}, column 'm-a|total_cost', row 3 (sample_id 'arc.2'): cost -1.0 of model "
        "'m-a' must be finite and >= 0 dollars",
    ),
    "folder: the member file and its own row": (
        _bad_second_file(),
        "{member}, column 'm-a', row 3 (sample_id 'arc.2'): expected a number, got 'n/a?'",
    ),
}


def _expected(template: str, path: Path) -> str:
    member = path / "b.csv" if path.is_dir() else path
    return template.format(path=path, member=member)


@pytest.mark.parametrize("case", sorted(EXACT))
def test_bad_data_is_one_exact_line(case: str, tmp_path: Path) -> None:
    make, template = EXACT[case]
    path = make(tmp_path)
    with pytest.raises(DataError) as err:
        routerbench.load(path)
    assert str(err.value) == _expected(template, path)


@pytest.mark.parametrize("case", sorted(EXACT))
def test_bad_data_via_cli_exits_2_and_writes_nothing(case: str, tmp_path: Path) -> None:
    make, template = EXACT[case]
    src = make(tmp_path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = CliRunner().invoke(app, ["convert", str(src), str(out_dir / "bench.parquet")])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == [f"error: {_expected(template, src)}"]
    assert list(out_dir.iterdir()) == []


def test_sample_ids_are_read_as_text(tmp_path: Path) -> None:
    """``007`` and ``7`` are two prompts, ``1.10`` stays ``1.10``, ``NA`` is an id."""
    df = long_frame(4)
    df["sample_id"] = df["sample_id"].map({"id0": "007", "id1": "7", "id2": "1.10", "id3": "NA"})
    path = tmp_path / "ids.csv"
    df.to_csv(path, index=False)
    bench = routerbench.load(path)
    assert list(bench.sample_ids) == ["007", "7", "1.10", "NA"]
    out = tmp_path / "ids.jsonl"
    result = CliRunner().invoke(app, ["convert", str(path), str(out)])
    assert result.exit_code == 0, result.output
    assert list(routerbench.load(out).sample_ids) == ["007", "7", "1.10", "NA"]


def test_wide_text_columns_beyond_the_layout_are_kept(tmp_path: Path) -> None:
    df = wide_frame()
    df["category"] = ["astro", "bio", "chem"]
    path = tmp_path / "w.csv"
    df.to_csv(path, index=False)
    bench = routerbench.load(path)
    assert bench.prompts["category"].tolist() == ["astro", "bio", "chem"]


def test_folder_order_is_the_index_order_whatever_the_file_names(tmp_path: Path) -> None:
    a, b = _wide_parts()
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    one = _folder(("a.csv", a), ("b.csv", b))(tmp_path / "x")
    two = _folder(("0_b.csv", b), ("1_a.csv", a))(tmp_path / "y")
    ids = [f"arc.{i}" for i in range(6)]  # index 10..15 is arc.0..arc.5
    assert list(routerbench.load(one).sample_ids) == ids
    assert list(routerbench.load(two).sample_ids) == ids
    assert any("unnamed first column" in n for n in routerbench.load(one).notes)


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
