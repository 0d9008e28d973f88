"""Router artifacts: a loaded router ranks prompts exactly like the saved one, and loading
refuses tampered, mismatched or malicious files in one line without running their code.
"""

from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from routerbench.embed import HashingEmbedder, TfidfSvdEmbedder
from routerbench.routers import (
    FactorRouter,
    KNNRouter,
    LogisticRouter,
    MLPRouter,
    OracleRouter,
    PriorRouter,
    SingleModelRouter,
    SVRRouter,
    check_bench,
    get_router,
)
from routerbench.routers.artifact import (
    MANIFEST,
    PAYLOAD,
    ArtifactError,
    load_router,
    read_manifest,
    save_router,
)


def small_embedder() -> TfidfSvdEmbedder:
    return TfidfSvdEmbedder(dim=8, min_df=1, ngram_max=1)


FAST = {"embedder": small_embedder(), "max_settings": 64}

ROUTERS = {
    "knn": lambda: KNNRouter(5, **FAST),
    "knn-hashing": lambda: KNNRouter(3, embedder=HashingEmbedder(dim=32)),
    "mlp": lambda: MLPRouter((8,), max_iter=30, **FAST),
    "svr": lambda: SVRRouter(**FAST),
    "svr-dual": lambda: SVRRouter(loss="epsilon_insensitive", **FAST),
    "logreg": lambda: LogisticRouter(alphas=(1e-2, 1e-1), cv=2, **FAST),
    "carrot": lambda: get_router("carrot", alphas=(1e-2,), cv=2, **FAST),
    "mf": lambda: FactorRouter(ranks=(2,), alphas=(1e-2,), cv=2, **FAST),
    "prior": lambda: PriorRouter(noise=0.05),
}


@pytest.fixture(scope="module")
def split():
    bench = check_bench(n=90, m=4, seed=5)
    return bench.subset(np.arange(60)), bench.subset(np.arange(60, 90))


@pytest.fixture(scope="module")
def saved_knn(split, tmp_path_factory) -> Path:
    train, _ = split
    path = tmp_path_factory.mktemp("artifact") / "knn.rbr"
    save_router(KNNRouter(5, **FAST).fit(train), path, train=train)
    return path


@pytest.mark.parametrize("name", sorted(ROUTERS))
def test_loaded_artifact_ranks_prompts_identically(name, split, tmp_path) -> None:
    train, test = split
    router = ROUTERS[name]().fit(train)
    path = save_router(router, tmp_path / f"{name}.rbr", train=train)
    loaded = load_router(path)
    assert type(loaded) is type(router)
    texts = test.prompts["prompt"].tolist()
    tasks = test.prompts["task"].tolist()
    for lam in (0.0, 1e-3, 0.5, 10.0):
        a = router.rank_prompts(texts, lam, tasks=tasks)
        b = loaded.rank_prompts(texts, lam, tasks=tasks)
        np.testing.assert_array_equal(a.order, b.order)
        np.testing.assert_array_equal(a.quality, b.quality)
        np.testing.assert_array_equal(a.cost, b.cost)
    # The benchmark path of the loaded router agrees too.
    for d_saved, d_loaded in zip(router.sweep(test), loaded.sweep(test), strict=True):
        np.testing.assert_array_equal(d_saved.choice, d_loaded.choice)


def test_manifest_records_what_serving_needs(saved_knn, split) -> None:
    train, _ = split
    manifest = read_manifest(saved_knn)
    assert manifest["router"]["class"].endswith("KNNRouter")
    assert manifest["router"]["params"]["n_neighbors"] == 5
    assert manifest["router"]["predictive"] is True
    assert manifest["models"] == list(train.models)
    assert manifest["train"]["fingerprint"] == train.fingerprint()
    assert manifest["train"]["n_prompts"] == train.n_prompts
    prices = manifest["train"]["mean_cost_per_prompt"]
    np.testing.assert_allclose([prices[m] for m in train.models], train.cost.mean(axis=0))
    import routerbench

    assert manifest["versions"]["routerbench"] == routerbench.__version__


def test_tfidf_state_is_saved_as_arrays_not_training_texts(saved_knn, split) -> None:
    """The TF-IDF vocabulary, idf and projection are in the file; the train prompts' texts
    (which a lazily built embedder would otherwise remember) are not."""
    train, _ = split
    with zipfile.ZipFile(saved_knn) as zf:
        inner = zipfile.ZipFile(__import__("io").BytesIO(zf.read(PAYLOAD)))
        names = inner.namelist()
        schema = inner.read("schema.json").decode()
    assert sum(n.endswith(".npy") for n in names) >= 3  # idf, projection, train features...
    assert "vocabulary_" in schema and "_projection" in schema
    assert train.prompts["prompt"].iloc[0] not in schema
    loaded = load_router(saved_knn)
    emb = loaded.features_.embedder_
    assert emb._projection is not None and emb._fit_texts is None


def test_saved_router_has_no_cache_folder(split, tmp_path) -> None:
    train, _ = split
    router = KNNRouter(3, embedder=HashingEmbedder(dim=16), cache=str(tmp_path / "cache"))
    loaded = load_router(save_router(router.fit(train), tmp_path / "k.rbr"))
    assert loaded.cache is False and loaded.features_.cache is False
    assert router.cache == str(tmp_path / "cache")  # the saved router itself is unchanged


def _rewrite(src: Path, dst: Path, *, manifest=None, payload: bytes | None = None) -> Path:
    with zipfile.ZipFile(src) as zf:
        old_manifest = json.loads(zf.read(MANIFEST))
        old_payload = zf.read(PAYLOAD)
    new_manifest = manifest(old_manifest) if manifest else old_manifest
    with zipfile.ZipFile(dst, "w") as zf:
        zf.writestr(MANIFEST, json.dumps(new_manifest))
        zf.writestr(PAYLOAD, old_payload if payload is None else payload)
    return dst


def _one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


def test_tampered_payload_is_refused(saved_knn, tmp_path) -> None:
    with zipfile.ZipFile(saved_knn) as zf:
        payload = bytearray(zf.read(PAYLOAD))
    payload[len(payload) // 2] ^= 0xFF
    bad = _rewrite(saved_knn, tmp_path / "tampered.rbr", payload=bytes(payload))
    with pytest.raises(ArtifactError) as exc:
        load_router(bad)
    assert "sha256 does not match" in _one_line(exc) and str(bad) in str(exc.value)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda m: {**m, "versions": {**m["versions"], "routerbench": "0.0.1"}}, "routerbench"),
        (lambda m: {**m, "versions": {**m["versions"], "scikit-learn": "0.24"}}, "scikit-learn"),
        (lambda m: {**m, "schema": 99}, "schema 99"),
        (lambda m: {**m, "format": "something-else"}, "not a routerbench router artifact"),
        (lambda m: {k: v for k, v in m.items() if k != "versions"}, "versions"),
    ],
    ids=["package-version", "sklearn-version", "schema", "format", "no-versions"],
)
def test_version_and_schema_mismatches_are_refused(saved_knn, tmp_path, edit, expected) -> None:
    bad = _rewrite(saved_knn, tmp_path / "mismatch.rbr", manifest=edit)
    with pytest.raises(ArtifactError) as exc:
        load_router(bad)
    assert expected in _one_line(exc)
    with pytest.raises(ArtifactError):
        read_manifest(bad)


def test_not_an_artifact_is_refused(tmp_path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ArtifactError, match="not a zip file"):
        load_router(text)
    with pytest.raises(ArtifactError, match="no such artifact"):
        load_router(tmp_path / "missing.rbr")
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("other.txt", "x")
    with pytest.raises(ArtifactError, match=r"manifest\.json"):
        load_router(empty)


class _Payload:
    """Unpickling (or restoring) this object would create the marker file."""

    marker: Path

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_a_planted_pickle_payload_is_never_executed(saved_knn, tmp_path) -> None:
    marker = tmp_path / "PWNED"
    evil = _Payload()
    evil.marker = marker
    blob = pickle.dumps(evil)
    # 1. The whole file is a pickle.
    plain = tmp_path / "plain.rbr"
    plain.write_bytes(blob)
    with pytest.raises(ArtifactError):
        load_router(plain)
    # 2. A well-formed artifact whose payload is that pickle, with a matching hash.
    import hashlib

    def with_hash(m):
        return {**m, "payload": {"file": PAYLOAD, "sha256": hashlib.sha256(blob).hexdigest()}}

    inner = _rewrite(saved_knn, tmp_path / "inner.rbr", manifest=with_hash, payload=blob)
    with pytest.raises(ArtifactError) as exc:
        load_router(inner)
    _one_line(exc)
    assert not marker.exists()
    # Control: the payload really is live (so the two refusals above mattered).
    pickle.loads(blob)
    assert marker.exists()


class _Restorer:
    """A class outside the allow-list whose restore step has a side effect."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __setstate__(self, state):
        Path(state["marker"]).write_text("ran")
        self.__dict__.update(state)


def test_a_skops_payload_with_an_unlisted_type_is_refused(split, tmp_path) -> None:
    import hashlib

    import skops.io as sio

    train, _ = split
    marker = tmp_path / "RESTORED"
    router = SingleModelRouter(0).fit(train)
    router.extra_ = _Restorer(str(marker))
    with pytest.raises(ArtifactError, match="outside the artifact allow-list"):
        save_router(router, tmp_path / "plugin.rbr")
    # Planted by hand (hash recomputed): refused at load, the restore never runs.
    good = save_router(SingleModelRouter(0).fit(train), tmp_path / "good.rbr")
    payload = sio.dumps(router)

    def with_hash(m):
        return {**m, "payload": {"file": PAYLOAD, "sha256": hashlib.sha256(payload).hexdigest()}}

    bad = _rewrite(good, tmp_path / "planted.rbr", manifest=with_hash, payload=payload)
    with pytest.raises(ArtifactError) as exc:
        load_router(bad)
    assert "_Restorer" in _one_line(exc)
    assert not marker.exists()
    # Trusting the type explicitly loads it (and runs its restore step).
    loaded = load_router(bad, trusted=[_Restorer])
    assert marker.exists() and loaded.index_ == 0


def test_unfitted_router_cannot_be_saved(tmp_path) -> None:
    with pytest.raises(ArtifactError, match="not fitted"):
        save_router(KNNRouter(), tmp_path / "x.rbr")
    assert not (tmp_path / "x.rbr").exists()
    assert not list(tmp_path.iterdir())


def test_baselines_round_trip(split, tmp_path) -> None:
    train, test = split
    for router in (SingleModelRouter(1), OracleRouter()):
        loaded = load_router(save_router(router.fit(train), tmp_path / f"{router.name}.rbr"))
        np.testing.assert_array_equal(loaded.route(test).choice, router.route(test).choice)
