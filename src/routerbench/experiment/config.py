"""The experiment configuration: a YAML file validated by pydantic, extra keys forbidden.

Every mistake becomes one `ConfigError` line naming the key path (``routers[2].grid.k``).
"""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from routerbench.data.benchmark import MISSING_POLICIES
from routerbench.errors import ConfigError

__all__ = [
    "DEFAULT_CONFIG_NAME",
    "AiqConfig",
    "BootstrapConfig",
    "EmbeddingConfig",
    "ExperimentConfig",
    "ProtocolConfig",
    "RouterConfig",
    "VerdictConfig",
    "default_config_text",
    "effective_yaml",
    "format_loc",
    "load_config",
    "parse_config",
    "parse_yaml",
]

#: Package-data copy of ``configs/default.yaml`` (a test keeps the two identical).
DEFAULT_CONFIG_NAME = "default.yaml"


class _Strict(BaseModel):
    """Base of every config section: unknown keys are errors, values are not coerced silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ProtocolConfig(_Strict):
    """One evaluation protocol.

    ``paper``: the paper's in-domain 70/30 split per dataset. With ``train_on:
    dataset`` (the paper) a router is trained on the train part of the dataset
    it is tested on; ``all`` trains one router on the train parts of every
    selected dataset. ``leave-out``: for each dataset, train on the train parts
    of the others, test on its test part (the paper's out-of-domain runs;
    ``whole_test`` tests on all of it). ``kfold``: seeded, dataset-stratified
    K-fold over all selected prompts, tested per dataset on each fold.

    ``label`` names the protocol in every table and figure (``in-domain``,
    ``out-of-domain``); default: its name, or its name and the keys that set it
    apart when one name is configured twice.
    """

    name: Literal["paper", "leave-out", "kfold"]
    label: str | None = Field(None, min_length=1, max_length=60)
    fraction: float = Field(0.7, gt=0.0, lt=1.0)
    seed: int = 42
    train_on: Literal["dataset", "all"] = "dataset"
    whole_test: bool = False
    k: int = Field(5, ge=2)

    @model_validator(mode="before")
    @classmethod
    def _kfold_seed(cls, data: Any) -> Any:
        # K-fold's conventional seed is 0; the paper split's is the original code's 42.
        if isinstance(data, dict) and data.get("name") == "kfold" and "seed" not in data:
            return {**data, "seed": 0}
        return data

    @model_validator(mode="after")
    def _relevant_keys(self) -> ProtocolConfig:
        relevant = {
            "paper": {"fraction", "seed", "train_on"},
            "leave-out": {"fraction", "seed", "whole_test"},
            "kfold": {"k", "seed"},
        }[self.name]
        stray = sorted(self.model_fields_set - relevant - {"name", "label"})
        if stray:
            raise ValueError(
                f"key {stray[0]!r} does not apply to protocol {self.name!r} "
                f"(it takes {', '.join(sorted(relevant))})"
            )
        return self


class EmbeddingConfig(_Strict):
    """Prompt embeddings for predictive routers, passed to routers that take `embedder`/`text`.

    ``spec`` is an embedder spec (``tfidf-svd``, ``hashing``, ``st:<model>``);
    ``text`` is ``full`` or ``final-turn`` (None: each router's own default);
    ``cache`` is the vector cache folder (default ``OUT/cache/embeddings``).
    A router's own ``params`` override both.
    """

    spec: str | None = "tfidf-svd"
    text: Literal["full", "final-turn"] | None = None
    cache: str | None = None


class RouterConfig(_Strict):
    """One configured router: a registry spec, fixed params, and a grid to expand.

    ``grid: {k: [5, 10, 40]}`` yields one router per combination (the
    Cartesian product over grid keys, in the order written). Knob settings a
    router sweeps itself (willingness to pay, cascade budgets) come from its
    own ``settings()``; set them through `params` where the router allows.
    """

    name: str = Field(min_length=1)
    label: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    seeds: list[int] | None = None

    @field_validator("grid")
    @classmethod
    def _grid_lists(cls, grid: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in grid.items():
            if not values:
                raise ValueError(f"grid.{key} is empty; give at least one value")
        return grid

    @model_validator(mode="after")
    def _no_overlap(self) -> RouterConfig:
        both = sorted(set(self.params) & set(self.grid))
        if both:
            raise ValueError(f"parameter {both[0]!r} is in both params and grid; keep one")
        return self


class VerdictConfig(_Strict):
    """What "beats Zero" means: the controls a router's cross-fitted gain must clear.

    A router beats the Zero router on a test set only when its cross-fitted
    gain over Zero (`frontier.crossfit_delta`) has a bootstrap interval above
    0 *and* exceeds the largest gain of ``control_seeds`` no-information
    controls (``prior`` with ``control_noise``: base rates plus seeded noise)
    and of the length-only control (``length_control``). Taking the maximum
    over many seeds guards against picking the luckiest of many configurations.
    ``control_seeds: 0`` and ``length_control: false`` turn the controls off
    (then no router can be said to beat Zero). ``crossfit_reps`` halvings give
    the estimate, ``crossfit_boot`` bootstrap resamples its interval (each
    resample reruns the estimator with its ``crossfit_reps`` halvings).
    """

    control_seeds: int = Field(10, ge=0, le=1000)
    control_noise: float = Field(0.02, gt=0.0)
    length_control: bool = True
    crossfit_reps: int = Field(20, ge=1)
    crossfit_boot: int = Field(200, ge=0)


class BootstrapConfig(_Strict):
    """Percentile bootstrap over prompts for AIQ intervals (``n_boot: 0`` turns CIs off)."""

    n_boot: int = Field(1000, ge=0)
    seed: int = 0
    alpha: float = Field(0.05, gt=0.0, lt=1.0)


Window = Literal["models", "shared"] | Annotated[list[float], Field(min_length=2, max_length=2)]


class AiqConfig(_Strict):
    """How AIQ is computed: the cost window, cost units and axis scale.

    ``window: models`` (default) is the span of the single models' costs on
    the test set: cheapest to dearest model, fixed by the data, so a system's
    AIQ never depends on which other routers ran. ``shared`` is the span of
    every system's points on that test set (moves when routers are added).
    ``[lo, hi]`` is explicit, in the units of `cost_mode`.
    """

    window: Window = "models"
    cost_mode: Literal["total", "mean"] = "total"
    log_cost: bool = False

    @field_validator("window")
    @classmethod
    def _window(cls, window: Any) -> Any:
        if isinstance(window, list):
            lo, hi = window
            if not (math.isfinite(lo) and math.isfinite(hi)) or lo < 0 or hi <= lo:
                raise ValueError(f"window [lo, hi] needs 0 <= lo < hi (finite), got {window}")
        return window

    @model_validator(mode="after")
    def _log_window(self) -> AiqConfig:
        if self.log_cost and isinstance(self.window, list) and self.window[0] <= 0:
            raise ValueError("log_cost needs a window above 0")
        return self


class ExperimentConfig(_Strict):
    """A whole experiment: data, protocols, embeddings, routers, evaluation, output.

    Keys
    ----
    data
        A data file or folder, or ``default`` (the embedded synthetic benchmark).
    missing
        Policy for unmeasured cells (``error``, ``drop-prompts``, ``zero``; ``keep``
        is refused when NaN cells remain, as nothing can be evaluated on them).
    groups
        Datasets to merge: ``{new_name: [pattern, ...]}``; a prompt whose dataset
        or task matches a pattern (``fnmatch``: ``arena-*``) belongs to
        ``new_name``, first group first. E.g. RouterArena's 78 tiny task groups
        as one dataset. Applied before ``datasets`` (which may name groups).
    datasets, models
        Subsets to use (default: all).
    protocols
        Splits to evaluate (see `ProtocolConfig`); each yields its own rows.
    embedding
        Embedder spec and text variant for predictive routers (`EmbeddingConfig`).
    routers
        Routers and their grids (`RouterConfig`).
    baselines
        Evaluate every single model, the Oracle and the Zero router on every test
        set (default true; the AIQ window rule ``models`` needs the single models).
    max_settings
        Cap on the knob settings of routers that take ``max_settings`` (the exact
        willingness-to-pay path is thinned to this many, never using test outcomes).
        Each setting is one row of results and one row of the bootstrap arrays.
    seeds
        Seeds for routers that take ``seed`` or ``random_state``; each seed is a run,
        and a system's AIQ averages its seeds.
    aiq, bootstrap
        The AIQ window rule and the bootstrap CI (`AiqConfig`, `BootstrapConfig`).
    verdict
        The controls behind "beats Zero" (`VerdictConfig`); run with the baselines.
    out
        Output folder; ``n_jobs`` parallel processes; ``executor`` ``local`` or
        ``ray`` (with ``address`` of an existing Ray cluster, default: start one).
    """

    data: str = "default"
    missing: str = "error"
    groups: dict[str, list[str]] = Field(default_factory=dict)
    datasets: list[str] | None = None
    models: list[str] | None = None
    protocols: list[ProtocolConfig] = Field(
        default_factory=lambda: [ProtocolConfig(name="paper")], min_length=1
    )
    embedding: EmbeddingConfig = Field(default_factory=EmbeddingConfig)
    routers: list[RouterConfig] = Field(default_factory=list)
    baselines: bool = True
    max_settings: int | None = Field(200, ge=2)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    aiq: AiqConfig = Field(default_factory=AiqConfig)
    bootstrap: BootstrapConfig = Field(default_factory=BootstrapConfig)
    verdict: VerdictConfig = Field(default_factory=VerdictConfig)
    out: str = "out"
    n_jobs: int = Field(1, ge=1)
    executor: Literal["local", "ray"] = "local"
    address: str | None = None

    @field_validator("missing")
    @classmethod
    def _missing(cls, value: str) -> str:
        if value not in MISSING_POLICIES:
            raise ValueError(f"expected one of {', '.join(MISSING_POLICIES)}")
        return value

    @field_validator("datasets", "models")
    @classmethod
    def _non_empty(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("give at least one name, or leave the key out for all")
        return value

    @field_validator("groups")
    @classmethod
    def _groups(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for name, patterns in value.items():
            if not name.strip():
                raise ValueError("a group needs a non-empty name")
            if not patterns or not all(isinstance(p, str) and p for p in patterns):
                raise ValueError(f"group {name!r} needs a list of dataset or task patterns")
        return value

    @field_validator("seeds")
    @classmethod
    def _unique_seeds(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError(f"seeds must be distinct, got {value}")
        return value

    @model_validator(mode="after")
    def _unique_protocols(self) -> ExperimentConfig:
        keys = [p.model_dump_json(exclude={"label"}) for p in self.protocols]
        for i, key in enumerate(keys):
            if key in keys[:i]:
                raise ValueError(f"protocols[{i}] repeats protocols[{keys.index(key)}]")
        labels = [p.label for p in self.protocols if p.label is not None]
        for i, lab in enumerate(labels):
            if lab in labels[:i]:
                raise ValueError(f"protocol label {lab!r} is used twice; labels must differ")
        return self

    def with_overrides(self, **overrides: Any) -> ExperimentConfig:
        """A copy with some top-level keys replaced (None values are ignored), re-validated."""
        data = self.model_dump(exclude_unset=True)
        data.update({k: v for k, v in overrides.items() if v is not None})
        return parse_config(data, source="<overrides>")


def effective_yaml(config: ExperimentConfig) -> str:
    """The config as it runs (overrides applied, defaults filled in) as compact YAML.

    Lists of plain values print on one line (``budgets: [0.001, 0.01]``), so the
    report can show the whole effective config without a page of one-item lines.
    """
    return yaml.safe_dump(
        config.model_dump(mode="json"), sort_keys=False, default_flow_style=None, width=96
    )


def format_loc(loc: tuple[Any, ...]) -> str:
    """``('routers', 2, 'grid', 'k')`` → ``routers[2].grid.k``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith(("function-", "literal[", "list[", "tagged-union")):
            continue  # pydantic's internal union branch names say nothing to a user
        else:
            out += f".{part}" if out else str(part)
    return out or "<top level>"


def _message(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    msg = str(err.get("msg", "invalid value"))
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    msg = msg.removeprefix("Value error, ")
    if (
        "input" in err
        and kind not in ("model_type", "dict_type")
        and not isinstance(err["input"], dict)
    ):
        return f"{msg} (got {err['input']!r})"
    return msg


def _known_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the section an unknown key was found in, for the error message."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        nested = [a for a in (ann, *args) if isinstance(a, type) and issubclass(a, BaseModel)]
        if not nested:
            return []
        current = nested[0]
    return list(getattr(current, "model_fields", {}))


def parse_config(data: Any, *, source: str = "<config>") -> ExperimentConfig:
    """Validate a parsed YAML mapping into an `ExperimentConfig`.

    Raises
    ------
    ConfigError
        One line: ``SOURCE: KEY.PATH: what was wrong (got VALUE)``. Only the first
        error is spelled out (with a count of the rest): fixing one at a time
        with a precise pointer beats a screenful of pydantic output.
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}: the config must be a mapping of keys, got {type(data).__name__}"
        )
    try:
        return ExperimentConfig.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        loc = tuple(first.get("loc", ()))
        msg = _message(first)
        if first.get("type") == "extra_forbidden":
            known = _known_keys(ExperimentConfig, loc)
            if known:
                msg += f" (expected one of {', '.join(known)})"
        more = f" (and {len(errors) - 1} more error(s))" if len(errors) > 1 else ""
        raise ConfigError(f"{source}: {format_loc(loc)}: {msg}{more}") from None


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key written twice in one mapping.

    Plain YAML lets the last value win silently, so a config with two
    ``n_jobs:`` lines would run with whichever came last. Keys brought in by a
    merge (``<<: *defaults``) may still be overridden, as YAML intends.
    """


def _unique_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            first = seen.get(key)
        except TypeError:  # an unhashable key: the safe constructor reports it below
            continue
        if first is not None:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"key {key!r} appears twice in one mapping (first on line {first + 1}); keep one",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def _decode(raw: bytes, source: str) -> str:
    """The file's text as UTF-8 (a leading BOM is allowed); a stray byte is one clear line."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        bad = raw[exc.start]
        raise ConfigError(
            f"{source}: byte {exc.start} (0x{bad:02x}, line {line}) is not valid UTF-8; "
            "save the file as UTF-8"
        ) from None


def parse_yaml(text: str, source: str) -> Any:
    """Parse config YAML safely (no Python tags), refusing duplicate keys, in one-line errors."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader: no Python tags
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError(f"{source}:{where}: {problem}") from None


def load_config(path: str | Path | None = None) -> tuple[ExperimentConfig, str]:
    """Read and validate a YAML config; None reads the shipped default.

    Returns
    -------
    (config, text)
        The validated config and the YAML text it came from (the report keeps
        the text verbatim, comments included, so a reader sees what was run).

    Raises
    ------
    ConfigError
        One line naming the file: not found, a folder, not UTF-8 (with the byte
        offset), not YAML or a key written twice (with line and column), empty
        (nothing but comments: say what to run rather than run defaults
        silently), or any invalid value (with its key path).
    """
    if path is None:
        text, source = default_config_text(), "default.yaml"
    else:
        p = Path(path)
        if p.is_dir():
            raise ConfigError(f"{p}: is a folder, expected a YAML config file")
        if not p.is_file():
            raise ConfigError(f"{p}: config file not found")
        source = str(p)
        text = _decode(p.read_bytes(), source)
    data = parse_yaml(text, source)
    if data is None:
        raise ConfigError(
            f"{source}: the config file is empty; give at least one key "
            "(routers, data, ...), or leave out --config for the default experiment"
        )
    return parse_config(data, source=source), text


def default_config_text() -> str:
    """The YAML text of the shipped default config (package data)."""
    return (
        resources.files("routerbench.experiment")
        .joinpath(DEFAULT_CONFIG_NAME)
        .read_text(encoding="utf-8")
    )
