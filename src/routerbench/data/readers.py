"""Read any supported file (or folder of files) into a validated Benchmark.

The reader is chosen from the file's content (magic bytes, header), not only its
suffix, so a mis-named file still loads and a corrupt one fails with a clear error.
"""

from __future__ import annotations

import csv
import io
import json
import pickle
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from routerbench.data.benchmark import Benchmark, MissingPolicy
from routerbench.data.long import benchmark_from_long
from routerbench.data.origin import RowOrigin
from routerbench.data.wide import INDEX_COLUMN, benchmark_from_wide, is_wide
from routerbench.errors import DataError

Format = Literal["pickle", "parquet", "csv", "jsonl", "json"]
SUFFIXES = {
    ".pkl": "pickle",
    ".pickle": "pickle",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
}

#: Module prefixes a DataFrame pickle may reference; anything else is refused.
_SAFE_MODULES = (
    "pandas",
    "numpy",
    "pyarrow",
    "copyreg",
    "_codecs",
    "collections",
    "datetime",
    "decimal",
    "zoneinfo",
    "pytz",
    "dateutil",
)
_SAFE_BUILTINS = {
    "object",
    "slice",
    "range",
    "complex",
    "set",
    "frozenset",
    "bytearray",
    "dict",
    "list",
    "tuple",
    "int",
    "float",
    "str",
    "bytes",
    "bool",
    "NoneType",
}


class _DataFrameUnpickler(pickle.Unpickler):
    """An unpickler that resolves only pandas/numpy/pyarrow data classes.

    A pickle can run arbitrary code on load; RouterBench ships its data as pickles,
    so we only allow the globals a DataFrame needs and refuse everything else.
    """

    def find_class(self, module: str, name: str):  # type: ignore[override]
        root = module.split(".")[0]
        if root in _SAFE_MODULES or (module == "builtins" and name in _SAFE_BUILTINS):
            if root == "numpy" and name in {"load", "save", "fromfile"}:
                raise pickle.UnpicklingError(f"refusing {module}.{name}")
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load global {module}.{name}")


#: Strings pandas reads as missing by default; a sample_id is text, so none of them
#: (``NA``, ``null``, ...) is missing there -- only an empty field is.
_NA_STRINGS = (
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
    "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
)  # fmt: skip


def sniff_format(path: Path) -> Format:
    """The file's format from its first bytes, falling back to the suffix."""
    with open(path, "rb") as fh:  # OS errors reach the CLI's one-line OS-error mapping
        head = fh.read(4096)
    if not head.strip():
        raise DataError("the file is empty", source=str(path))
    if head[:4] == b"PAR1":
        return "parquet"
    if head[:1] == b"\x80" or path.suffix.lower() in (".pkl", ".pickle"):
        return "pickle"
    first = head.lstrip()[:1]
    if first == b"{":
        return "jsonl"
    if first == b"[":
        return "json"
    guess = SUFFIXES.get(path.suffix.lower())
    return guess if guess in ("csv", "jsonl", "json") else "csv"  # type: ignore[return-value]


def read_frame(
    path: Path, fmt: Format | None = None, *, trust_pickle: bool = False
) -> pd.DataFrame:
    """Read one file into a DataFrame, turning library errors into `DataError`."""
    fmt = fmt or sniff_format(path)
    src = str(path)
    return _check_columns(_read_any(path, fmt, trust_pickle, src), src)


def _read_any(path: Path, fmt: Format, trust_pickle: bool, src: str) -> pd.DataFrame:
    try:
        if fmt == "parquet":
            return pd.read_parquet(path)
        if fmt == "csv":
            return _read_csv(path)
        if fmt == "jsonl":
            _refuse_repeated_keys(path, lines=True)
            return pd.read_json(path, lines=True, dtype=False, precise_float=True)
        if fmt == "json":
            _refuse_repeated_keys(path, lines=False)
            return pd.read_json(path, dtype=False, precise_float=True)
        return _read_pickle(path, trust_pickle)
    except DataError:
        raise
    except (EOFError, pickle.UnpicklingError) as exc:
        raise DataError(
            f"truncated or corrupt pickle ({exc or type(exc).__name__})", source=src
        ) from None
    except pd.errors.EmptyDataError:
        raise DataError("the file is empty", source=src) from None
    except pd.errors.ParserError as exc:
        raise DataError(f"malformed CSV: {str(exc).strip()}", source=src) from None
    except ValueError as exc:
        raise DataError(f"cannot read as {fmt}: {str(exc).splitlines()[0]}", source=src) from None
    except OSError as exc:
        raise DataError(f"cannot read as {fmt}: {exc}", source=src) from None


class _RepeatedKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _RepeatedKey(key)
            seen.add(key)
    return out


def _refuse_repeated_keys(path: Path, *, lines: bool) -> None:
    """A DataError naming the line and key when a JSON object gives one key twice.

    pandas keeps the last value of a repeated key without a word, which silently drops
    the other; RouterBench data must not lose a measured cell that way. Only the object
    structure is checked here (malformed JSON is left to the reader's own message).
    """
    src = str(path)
    with open(path, encoding="utf-8", errors="replace") as fh:
        if not lines:
            try:
                json.load(fh, object_pairs_hook=_unique_keys)
            except _RepeatedKey as exc:
                raise DataError(
                    f"a JSON object gives the key {exc.key!r} twice", source=src, column=exc.key
                ) from None
            except ValueError:
                return
            return
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                json.loads(line, object_pairs_hook=_unique_keys)
            except _RepeatedKey as exc:
                raise DataError(
                    f"the record gives the key {exc.key!r} twice",
                    source=src,
                    row=number,
                    column=exc.key,
                ) from None
            except ValueError:
                continue


def csv_header(path: Path) -> list[str]:
    """The header's column names as written (pandas renames a repeated one ``x.1``)."""
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        return next(csv.reader(fh), [])


def _read_csv(path: Path) -> pd.DataFrame:
    """A CSV with its header checked and ``sample_id`` read as text (``007`` stays ``007``)."""
    header = csv_header(path)
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        if name in seen and name != "":
            raise DataError(
                f"column name appears twice in the header (columns {seen[name] + 1} and {i + 1})",
                source=str(path),
                column=name,
            )
        seen.setdefault(name, i)
    na = {c: list(_NA_STRINGS) for c in header if c != "sample_id"}
    na["sample_id"] = [""]
    return pd.read_csv(
        path,
        dtype={"sample_id": str},
        keep_default_na=False,
        na_values=na,
        low_memory=False,
    )


def _check_columns(df: pd.DataFrame, source: str) -> pd.DataFrame:
    dup = df.columns[df.columns.duplicated()]
    if len(dup):
        raise DataError("column name appears twice", source=source, column=str(dup[0]))
    return df


def _read_pickle(path: Path, trust: bool) -> pd.DataFrame:
    if trust:
        obj = pd.read_pickle(path)
    else:
        try:
            obj = _DataFrameUnpickler(io.BytesIO(path.read_bytes())).load()
        except pickle.UnpicklingError as exc:
            if "refusing" in str(exc):
                raise DataError(
                    f"{exc}; the pickle references code outside pandas/numpy. If you trust "
                    "this file, load it with trust_pickle=True (CLI: --trust-pickle)",
                    source=str(path),
                ) from None
            raise
        except (AttributeError, ImportError, IndexError, TypeError, KeyError) as exc:
            raise DataError(
                f"truncated or corrupt pickle ({type(exc).__name__}: {exc})", source=str(path)
            ) from None
    if not isinstance(obj, pd.DataFrame):
        raise DataError(
            f"the pickle holds a {type(obj).__name__}, expected a pandas DataFrame",
            source=str(path),
        )
    return obj


def frame_to_benchmark(
    df: pd.DataFrame,
    *,
    source: str,
    notes: tuple[str, ...] = (),
    origin: RowOrigin | None = None,
) -> Benchmark:
    """Dispatch a frame to the wide or long builder by its columns.

    `origin` says which file and row each row of `df` came from (default: rows
    1..n of `source`), so errors name the row a person can find.
    """
    if is_wide(df.columns):
        return benchmark_from_wide(df, source=source, notes=notes, origin=origin)
    return benchmark_from_long(df, source=source, notes=notes, origin=origin)


def load(
    path: str | Path,
    *,
    missing: MissingPolicy = "error",
    trust_pickle: bool = False,
    format: Format | None = None,
) -> Benchmark:
    """Load a benchmark from a file, a folder of files, or ``"default"``.

    Parameters
    ----------
    path
        A RouterBench wide pickle/CSV, RouterBench's long ``routerbench_raw.pkl``,
        our long format (Parquet, CSV, JSONL), a folder whose files are all of one
        layout (they are concatenated before split rows are merged; wide rows are
        then put in the published order of their unnamed index column, so neither
        file names nor listing order change the result), or the string
        ``"default"`` for the embedded synthetic benchmark.
    missing
        Policy for unmeasured cells: ``error`` (default; routing on NaN is a bug),
        ``keep``, ``drop-prompts`` or ``zero``.
    trust_pickle
        Load pickles with plain `pandas.read_pickle` instead of the restricted
        unpickler (a pickle can run code: only for files you trust).
    format
        Force a format instead of sniffing the content.
    """
    if str(path) == "default":
        from routerbench.data.synthetic import load_default

        return load_default().handle_missing(missing)
    p = Path(path)
    if not p.exists():
        raise DataError("no such file or folder", source=str(p))
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in SUFFIXES)
        if not files:
            raise DataError(
                f"the folder holds no data files ({', '.join(SUFFIXES)})", source=str(p)
            )
        frames = [read_frame(f, format, trust_pickle=trust_pickle) for f in files]
        layouts = {is_wide(f.columns) for f in frames}
        if len(layouts) > 1:
            raise DataError(
                "the folder mixes wide and long files; load them separately", source=str(p)
            )
        for f, frame in zip(files, frames):
            if len(frame) == 0:
                raise DataError("the table has no rows", source=str(f))
        df = pd.concat(frames, ignore_index=True)
        origin = RowOrigin.concat(
            [RowOrigin.of_file(str(f), len(x)) for f, x in zip(files, frames)]
        )
        notes: tuple[str, ...] = ()
        if layouts == {True} and len(files) > 1 and INDEX_COLUMN not in df.columns:
            notes = (
                "the files carry no row-position column, so rows follow the files' names "
                f"({', '.join(f.name for f in files)}) and each file's line order",
            )
    else:
        df = read_frame(p, format, trust_pickle=trust_pickle)
        notes = ()
        origin = RowOrigin.of_file(str(p), len(df))
    bench = frame_to_benchmark(df, source=str(p), notes=notes, origin=origin)
    return bench.handle_missing(missing)
