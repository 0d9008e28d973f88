"""Which code a router's results depend on: a fingerprint of its source, for run ids.

A finished run is reused when its run id matches. The id already hashes the
data, the split and every constructor parameter; this adds the code, so that
a fix inside a judge (which changes no parameter) re-runs what it affects
instead of serving results of the old code. The fingerprint covers the module
that defines the router class (and those of its base classes) and every module
of the same packages it imports, transitively — imports inside functions
included, and classes named as ``"package.module:Class"`` strings, as the
router registry names the routers it builds — plus the versions of the
numerical libraries the fits run on. Through the registry that is in practice
the whole of ``routerbench.routers`` and what it uses: conservative, because
serving a stale result is worse than fitting again.
Only code counts: each module is hashed as its syntax tree without docstrings,
so comments, docstrings and formatting leave the fingerprint (and the cache) alone.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import re
from functools import lru_cache
from pathlib import Path

#: Libraries whose version changes a fit's numbers (a solver's tolerance, a default).
NUMERIC_LIBRARIES: tuple[str, ...] = ("numpy", "scipy", "sklearn")


@lru_cache(maxsize=64)
def _top_location(top: str) -> tuple[Path, bool] | None:
    """Where a top-level package (or single-file module) lives, and whether it is a package."""
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError, AttributeError):
        return None
    if spec is None:
        return None
    locations = list(spec.submodule_search_locations or [])
    if locations:
        return Path(locations[0]), True
    origin = spec.origin
    return (Path(origin), False) if origin and origin.endswith(".py") else None


def _source_path(module: str) -> Path | None:
    """The .py file of a dotted module name, found without importing it (None: no source)."""
    top, _, rest = module.partition(".")
    where = _top_location(top)
    if where is None:
        return None
    root, is_package = where
    if not is_package:
        return root if not rest else None
    base = root.joinpath(*rest.split(".")) if rest else root
    for path in (base / "__init__.py", base.with_name(base.name + ".py")):
        if path.is_file():
            return path
    return None


#: ``"package.module:Class"`` strings, as a registry names the classes it builds lazily.
_CLASS_PATH = re.compile(r"^([A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*):[A-Za-z_]\w*$")


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return tree


@lru_cache(maxsize=1024)
def _parsed(module: str) -> tuple[str, tuple[str, ...]] | None:
    """(hash of the code of `module`, the modules it imports), or None without a source file."""
    path = _source_path(module)
    if path is None:
        return None
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    imported: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            try:
                base = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            except (ImportError, ValueError):
                continue
            imported.append(base)
            imported += [f"{base}.{a.name}" for a in node.names if a.name != "*"]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            named = _CLASS_PATH.match(node.value)  # a class built by name, e.g. in the registry
            if named:
                imported.append(named.group(1))
    code = ast.dump(_strip_docstrings(tree), include_attributes=False)
    return hashlib.sha256(code.encode()).hexdigest(), tuple(dict.fromkeys(imported))


def module_closure(roots: tuple[str, ...]) -> dict[str, str]:
    """Every module reachable from `roots` by imports inside their top packages and
    routerbench -> its code hash.

    A name imported with ``from a import b`` counts as module ``a.b`` when that
    is a module with source, else as ``a``; modules outside the roots' top
    packages (numpy, the standard library) are not followed.
    """
    tops = {r.partition(".")[0] for r in roots} | {"routerbench"}
    out: dict[str, str] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in out or name.partition(".")[0] not in tops:
            continue
        parsed = _parsed(name)
        if parsed is None:
            continue
        out[name], imports = parsed
        todo += [m for m in imports if m not in out]
    return out


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    dist = {"sklearn": "scikit-learn"}
    parts = []
    for lib in NUMERIC_LIBRARIES:
        try:
            parts.append(f"{lib}={version(dist.get(lib, lib))}")
        except PackageNotFoundError:
            parts.append(f"{lib}=?")
    return ",".join(parts)


@lru_cache(maxsize=256)
def code_fingerprint(cls: type) -> str:
    """Hash of the code a router class runs (see the module docstring); "" when none is found."""
    own = {cls.__module__.partition(".")[0], "routerbench"}  # not abc's, sklearn's, ...
    roots = tuple(
        dict.fromkeys(c.__module__ for c in cls.__mro__ if c.__module__.partition(".")[0] in own)
    )
    closure = module_closure(roots)
    if not closure:
        return ""
    h = hashlib.sha256(_versions().encode())
    for name in sorted(closure):
        h.update(f"{name}:{closure[name]};".encode())
    return h.hexdigest()[:20]
