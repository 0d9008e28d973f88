"""Read any supported file (or folder of files) into a validated Benchmark.

The reader is chosen from the file's content (magic bytes, header), not only its
suffix, so a mis-named file still loads and a corrupt one fails with a clear error.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Literal

import pandas as pd

from routerbench.data.benchmark import Benchmark, MissingPolicy
from routerbench.data.long import benchmark_from_long
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


def sniff_format(path: Path) -> Format:
    """The file's format from its first bytes, falling back to the suffix."""
    with open(path, "rb") as fh:
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
    try:
        if fmt == "parquet":
            return pd.read_parquet(path)
        if fmt == "csv":
            return pd.read_csv(path, keep_default_na=True, low_memory=False)
        if fmt == "jsonl":
            return pd.read_json(path, lines=True, dtype=False, precise_float=True)
        if fmt == "json":
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


def frame_to_benchmark(df: pd.DataFrame, *, source: str, notes: tuple[str, ...] = ()) -> Benchmark:
    """Dispatch a frame to the wide or long builder by its columns."""
    if is_wide(df.columns):
        return benchmark_from_wide(df, source=source, notes=notes)
    return benchmark_from_long(df, source=source, notes=notes)


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
        notes: tuple[str, ...] = ()
        if layouts == {True} and len(files) > 1 and INDEX_COLUMN not in df.columns:
            notes = (
                "the files carry no row-position column, so rows follow the files' names "
                f"({', '.join(f.name for f in files)}) and each file's line order",
            )
    else:
        df = read_frame(p, format, trust_pickle=trust_pickle)
        notes = ()
    return frame_to_benchmark(df, source=str(p), notes=notes).handle_missing(missing)
