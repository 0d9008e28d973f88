"""Router artifacts: a fitted router in one file that loading never executes.

The file is a zip holding ``manifest.json`` (format, versions, parameters, models,
prices, training-data fingerprint and the payload's sha256) and ``router.skops``:
the router's state as arrays and JSON in skops' format, loaded only with types
on an explicit allow-list (no pickle, no code named by the file is called).
"""

from __future__ import annotations

import copy
import hashlib
import importlib
import json
import re
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from routerbench.data.benchmark import Benchmark
from routerbench.errors import (
    ArtifactError,
    RouterBenchError,
)
from routerbench.io import atomic_path
from routerbench.routers.base import Router

__all__ = [
    "ARTIFACT_FORMAT",
    "ARTIFACT_SCHEMA",
    "ARTIFACT_TYPES",
    "ArtifactError",
    "load_router",
    "read_manifest",
    "save_router",
]

#: What the manifest's ``format`` field must say.
ARTIFACT_FORMAT = "routerbench-router"
#: Bumped whenever the layout of the file or of a saved router's state changes.
ARTIFACT_SCHEMA = 1
MANIFEST = "manifest.json"
PAYLOAD = "router.skops"

#: Classes of routerbench a saved router may contain (``module:Name``). Loading builds
#: objects of these, of scikit-learn classes and of numpy types only; anything else is
#: refused before a single object is built.
_ALLOWED_PATHS: tuple[str, ...] = (
    "routerbench.routers.presets:KNNRouter",
    "routerbench.routers.presets:MLPRouter",
    "routerbench.routers.presets:SVRRouter",
    "routerbench.routers.presets:LogisticRouter",
    "routerbench.routers.presets:FactorRouter",
    "routerbench.routers.composed:ComposedRouter",
    "routerbench.routers.control:PriorRouter",
    "routerbench.routers.baselines:SingleModelRouter",
    "routerbench.routers.baselines:RandomRouter",
    "routerbench.routers.baselines:OracleRouter",
    "routerbench.routers.features:PromptFeatures",
    "routerbench.routers.costs:CostModel",
    "routerbench.routers.quality.neighbors:KNNQuality",
    "routerbench.routers.quality.mlp:MLPQuality",
    "routerbench.routers.quality.svr:SVRQuality",
    "routerbench.routers.quality.logistic:LogisticQuality",
    "routerbench.routers.quality.logistic:FactorQuality",
    "routerbench.routers.quality.logistic_fit:LogitModel",
    "routerbench.routers.quality.base:EstimatorQuality",
    "routerbench.routers.judged_cascade:JudgedCascadeRouter",
    "routerbench.routers.judged_cascade:_Unit",
    "routerbench.routers.hybrid:HybridRouter",
    "routerbench.routers.judged_cv:JudgedCVRouter",
    "routerbench.routers.judges.verifier:WindowVerifier",
    "routerbench.routers.judges.verifier:_Fitted",
    "routerbench.routers.judges.verifier:EscalationModel",
    "routerbench.embed.tfidf:TfidfSvdEmbedder",
    "routerbench.embed.hashing:HashingEmbedder",
    "routerbench.embed.sentence:SentenceTransformerEmbedder",
)
#: The same, as the dotted names skops reports (``module.Name``).
ARTIFACT_TYPES: tuple[str, ...] = tuple(p.replace(":", ".") for p in _ALLOWED_PATHS)

_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")


# --------------------------------------------------------------------------- versions
def _versions() -> dict[str, str]:
    import sklearn
    import skops

    import routerbench

    return {
        "routerbench": routerbench.__version__,
        "scikit-learn": sklearn.__version__,
        "skops": skops.__version__,
        "numpy": np.__version__,
    }


#: Versions that must match between saving and loading: other code may compute
#: other estimates from the same state (TF-IDF tokens, a model's predict).
_PINNED = ("routerbench", "scikit-learn")


# --------------------------------------------------------------------------- types
def _is_sklearn_class(name: str) -> bool:
    """True when `name` is a class defined in scikit-learn (whose constructors store params)."""
    if not name.startswith("sklearn.") or not _DOTTED.match(name):
        return False
    module_name, _, attr = name.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError):
        return False
    return isinstance(obj, type)


def _refused_types(found: Iterable[str], trusted: Iterable[str]) -> list[str]:
    allowed = set(ARTIFACT_TYPES) | set(trusted)
    return sorted(t for t in found if t not in allowed and not _is_sklearn_class(t))


def _type_name(cls: type | str) -> str:
    return cls if isinstance(cls, str) else f"{cls.__module__}.{cls.__qualname__}"


# --------------------------------------------------------------------------- saving
def _portable(router: Router) -> Router:
    """A copy of a fitted router ready to save: embedders built, runtime-only state dropped.

    A TF-IDF embedder builds its vocabulary and projection lazily; building it
    here means the file holds that state as arrays, never the training texts it
    would otherwise remember. A sentence-transformers model is referenced by
    name, not stored. The embedding cache folder belongs to the machine that
    trained, so the saved router has none.
    """
    from routerbench.embed.sentence import SentenceTransformerEmbedder
    from routerbench.embed.tfidf import TfidfSvdEmbedder
    from routerbench.routers.features import PromptFeatures

    out = copy.copy(router)
    if "cache" in vars(out):
        out.cache = False  # type: ignore[attr-defined]
    if isinstance(vars(out).get("features"), PromptFeatures):  # a composed router's part
        out.features = copy.copy(out.features)  # type: ignore[attr-defined]
        out.features.cache = False  # type: ignore[attr-defined]
    features = getattr(out, "features_", None)
    if features is not None and hasattr(features, "embedder_"):
        features = copy.copy(features)
        features.cache = False
        emb = features.embedder_
        if isinstance(emb, TfidfSvdEmbedder) and emb._projection is None:
            emb._build()
        if isinstance(emb, SentenceTransformerEmbedder):
            emb = copy.copy(emb)
            emb._model = None
            features.embedder_ = emb
        out.features_ = features  # type: ignore[attr-defined]
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


def _train_summary(train: Benchmark) -> dict[str, Any]:
    cost = np.nanmean(train.cost, axis=0)
    return {
        "fingerprint": train.fingerprint(),
        "source": train.source,
        "n_prompts": int(train.n_prompts),
        "datasets": list(train.datasets),
        "mean_cost_per_prompt": {m: float(c) for m, c in zip(train.models, cost)},
    }


def save_router(
    router: Router,
    path: str | Path,
    *,
    train: Benchmark | None = None,
    trusted: Iterable[type | str] = (),
) -> Path:
    """Write a fitted router to one artifact file, atomically.

    Parameters
    ----------
    router
        A fitted router whose state uses only allow-listed types
        (`ARTIFACT_TYPES`, scikit-learn and numpy classes, plus `trusted`).
    path
        Target file (conventionally ``*.rbr``); replaced only when complete.
    train
        The training benchmark, to record its fingerprint, datasets and each
        model's mean cost per prompt (the price table serving reports).
    trusted
        Extra classes (objects or dotted names) a plug-in router holds; the
        loader must be given the same list.

    Returns
    -------
    Path
        `path`.

    Raises
    ------
    ArtifactError
        The router is not fitted, or holds a type outside the allow-list.
    """
    import skops.io as sio

    target = Path(path)
    if not isinstance(router, Router):
        raise ArtifactError(f"{target}: expected a fitted Router, got {type(router).__name__}")
    try:
        router._check_fitted()
    except RouterBenchError as exc:
        raise ArtifactError(f"{target}: {exc}") from None
    extra = [_type_name(t) for t in trusted]
    portable = _portable(router)
    try:
        payload = sio.dumps(portable)
    except Exception as exc:  # skops names the object it cannot represent
        raise ArtifactError(
            f"{target}: {type(router).__name__} cannot be saved as arrays and JSON ({exc})"
        ) from None
    refused = _refused_types(sio.get_untrusted_types(data=payload), extra)
    if refused:
        raise ArtifactError(
            f"{target}: {type(router).__name__} holds types outside the artifact allow-list: "
            f"{', '.join(refused)} (pass trusted=[...] to save_router and load_router)"
        )
    models = getattr(router, "models_", None)
    try:
        params = _jsonable(router.get_params())
    except Exception:
        params = {}
    manifest = {
        "format": ARTIFACT_FORMAT,
        "schema": ARTIFACT_SCHEMA,
        "versions": _versions(),
        "router": {
            "class": _type_name(type(router)),
            "name": getattr(router, "name", type(router).__name__),
            "label": str(getattr(router, "label", getattr(router, "name", ""))),
            "params": params,
            "predictive": callable(getattr(router, "_estimate_prompts", None)),
        },
        "models": None if models is None else list(models),
        "train": None if train is None else _train_summary(train),
        "trusted": extra,
        "payload": {"file": PAYLOAD, "sha256": hashlib.sha256(payload).hexdigest()},
    }
    text = json.dumps(manifest, indent=2, sort_keys=True, allow_nan=True)
    try:
        with atomic_path(target) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(MANIFEST, text)
            zf.writestr(PAYLOAD, payload)
    except OSError as exc:
        reason = exc.strerror or exc
        raise ArtifactError(f"{target}: cannot write the artifact ({reason})") from None
    return target


# --------------------------------------------------------------------------- loading
def _read(path: Path) -> tuple[dict[str, Any], bytes]:
    if not path.is_file():
        raise ArtifactError(f"{path}: no such artifact file")
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if MANIFEST not in names or PAYLOAD not in names:
                raise ArtifactError(
                    f"{path}: not a routerbench router artifact (no {MANIFEST} and {PAYLOAD})"
                )
            raw = zf.read(MANIFEST)
            payload = zf.read(PAYLOAD)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError):
        raise ArtifactError(
            f"{path}: not a routerbench router artifact (not a zip file; "
            "artifacts are written by `routerbench train` or save_router)"
        ) from None
    except OSError as exc:
        raise ArtifactError(f"{path}: cannot read the artifact ({exc.strerror or exc})") from None
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{path}: {MANIFEST} is not valid JSON ({exc})") from None
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{path}: {MANIFEST} must be a JSON object")
    return manifest, payload


def _check_manifest(path: Path, manifest: Mapping[str, Any]) -> None:
    if manifest.get("format") != ARTIFACT_FORMAT:
        raise ArtifactError(
            f"{path}: not a routerbench router artifact (format {manifest.get('format')!r})"
        )
    if manifest.get("schema") != ARTIFACT_SCHEMA:
        raise ArtifactError(
            f"{path}: artifact schema {manifest.get('schema')!r} is not the supported "
            f"{ARTIFACT_SCHEMA}; re-train it with this routerbench (`routerbench train`)"
        )
    saved = manifest.get("versions")
    if not isinstance(saved, Mapping):
        raise ArtifactError(f"{path}: {MANIFEST} has no 'versions' object")
    here = _versions()
    for key in _PINNED:
        if saved.get(key) != here[key]:
            raise ArtifactError(
                f"{path}: saved with {key} {saved.get(key)!r} but this is {key} {here[key]}; "
                "re-train the router with this version (`routerbench train`)"
            )
    payload = manifest.get("payload")
    if not isinstance(payload, Mapping) or not isinstance(payload.get("sha256"), str):
        raise ArtifactError(f"{path}: {MANIFEST} has no payload sha256")


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest of an artifact (checked for format, schema and versions), without loading.

    What serving shows about a router: its class, parameters, models, price
    table and the fingerprint of the data it was trained on.
    """
    p = Path(path)
    manifest, _ = _read(p)
    _check_manifest(p, manifest)
    return manifest


def load_router(path: str | Path, *, trusted: Iterable[type | str] = ()) -> Router:
    """Load a fitted router from an artifact, executing no code named by the file.

    Parameters
    ----------
    path
        A file written by `save_router` (or ``routerbench train``).
    trusted
        Extra classes a plug-in router holds (as given to `save_router`).

    Raises
    ------
    ArtifactError
        In one line: not an artifact, a schema or version mismatch, a payload
        whose sha256 differs from the manifest (tampered or corrupt), a type
        outside the allow-list, or a payload that does not build a fitted
        router for the manifest's models.
    """
    import skops.io as sio

    p = Path(path)
    manifest, payload = _read(p)
    _check_manifest(p, manifest)
    if hashlib.sha256(payload).hexdigest() != manifest["payload"]["sha256"]:
        raise ArtifactError(
            f"{p}: the payload's sha256 does not match the manifest: the file was altered "
            "or damaged; refusing to load it"
        )
    extra = [_type_name(t) for t in trusted]
    try:
        found = sio.get_untrusted_types(data=payload)
    except Exception as exc:
        raise ArtifactError(f"{p}: {PAYLOAD} is not a readable skops payload ({exc})") from None
    refused = _refused_types(found, extra)
    if refused:
        raise ArtifactError(
            f"{p}: the router holds types outside the artifact allow-list: {', '.join(refused)}; "
            "refusing to load it (pass trusted=[...] only for classes you wrote)"
        )
    try:
        router = sio.loads(payload, trusted=sorted(set(found)))
    except Exception as exc:
        raise ArtifactError(f"{p}: {PAYLOAD} does not load ({type(exc).__name__}: {exc})") from None
    if not isinstance(router, Router):
        raise ArtifactError(f"{p}: the payload is a {type(router).__name__}, not a Router")
    if _type_name(type(router)) != manifest.get("router", {}).get("class"):
        raise ArtifactError(f"{p}: the payload's router class differs from the manifest's")
    models = manifest.get("models")
    if models is not None and list(getattr(router, "models_", models)) != list(models):
        raise ArtifactError(f"{p}: the payload's models differ from the manifest's")
    return router
