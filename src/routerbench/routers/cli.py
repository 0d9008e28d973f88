"""`routerbench train`: fit one router on a benchmark and save it as an artifact for serving.

The router is configured through the same machinery as `routerbench run` (registry
specs, parameter checks with their key, default embedder and settings cap).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from routerbench.cli_support import console, err_console
from routerbench.errors import ConfigError


def parse_params(items: list[str]) -> dict[str, Any]:
    """``["n_neighbors=40", "lambdas=[0.1, 1]"]`` → ``{"n_neighbors": 40, "lambdas": [0.1, 1]}``.

    Values are YAML, as in a config file, so numbers, lists and booleans read as
    they would there; a key given twice is an error rather than "last wins".
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--param: expected KEY=VALUE, got {item!r}")
        if key in out:
            raise ConfigError(f"--param: {key!r} is given twice")
        try:
            out[key] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            raise ConfigError(f"--param {key}: {raw!r} is not a YAML value") from None
    return out


def train_router(
    data: str,
    spec: str,
    params: dict[str, Any],
    out: Path,
    *,
    missing: str = "error",
    seed: int = 0,
    embedder: str | None = None,
) -> tuple[Any, Any]:
    """Fit `spec` with `params` on every prompt of `data` and save it to `out`.

    Returns
    -------
    (router, benchmark)
        The fitted router and the benchmark it was trained on.
    """
    from routerbench.experiment.config import parse_config
    from routerbench.experiment.plan import get_router, router_systems
    from routerbench.experiment.runner import prepare_benchmark
    from routerbench.routers.artifact import save_router

    raw: dict[str, Any] = {
        "data": data,
        "missing": missing,
        "seeds": [seed],
        "baselines": False,
        "routers": [{"name": spec, "params": params}],
    }
    if embedder is not None:
        raw["embedding"] = {"spec": embedder}
    try:
        cfg = parse_config(raw, source="command line")
        (system,) = router_systems(cfg)
    except ConfigError as exc:
        raise ConfigError(str(exc).replace("routers[0].params.", "--param ")) from None
    bench = prepare_benchmark(cfg)
    router = get_router(system.spec, **system.router_params(seed))
    router.fit(bench)
    save_router(router, out, train=bench)
    return router, bench


def train(
    data: Annotated[str, typer.Option("--data", help="Data file or folder, or 'default'.")],
    router: Annotated[
        str, typer.Option("--router", help="Router spec: a name (knn, logreg...) or pkg.mod:Class.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Artifact file to write (e.g. knn.rbr).")],
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="Router parameter KEY=VALUE (YAML value); repeatable."),
    ] = None,
    missing: Annotated[
        str, typer.Option("--missing", help="Policy for unmeasured cells (as in `run`).")
    ] = "error",
    seed: Annotated[int, typer.Option("--seed", help="Seed for routers that take one.")] = 0,
    embedder: Annotated[
        str | None, typer.Option("--embedder", help="Embedder spec (default: tfidf-svd).")
    ] = None,
) -> None:
    """Fit a router on all prompts of --data and save it as one artifact file for serving.

    The artifact holds the fitted features, quality and cost models, the model
    list, the training data's fingerprint and prices, and the package versions;
    loading it runs no code from the file.
    """
    params = parse_params(list(param or []))
    with err_console.status(f"Training {router} on {data} …"):
        fitted, bench = train_router(
            data, router, params, out, missing=missing, seed=seed, embedder=embedder
        )
    console.print(
        f"wrote {out}: {getattr(fitted, 'label', router)} trained on {bench.n_prompts} prompts "
        f"× {bench.n_models} models ({bench.fingerprint()})",
        highlight=False,
        markup=False,
    )
