"""The collect run: plan every (prompt, model) cell, call the missing ones, score, write the table.

Work flows per model through a queue and a pool of workers, each call committed to the
store as soon as it finishes, so a run killed at any moment resumes where it stopped.
Scoring follows each answer (the sandbox in worker threads, the judge through the same
client, store and budget as any other call). The output ``benchmark.parquet`` is always
rebuilt from the store, never appended to.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from routerbench.collect import keys as K
from routerbench.collect.client import CallOutcome, EndpointClient, RetryPolicy
from routerbench.collect.scorers import JudgeScorer, Score, get_scorer, parse_rating
from routerbench.collect.store import CallRecord, ScoreRecord, Store, canonical_json
from routerbench.collect.tasks import Task
from routerbench.collect.usage import token_counter, usage_flags
from routerbench.endpoints import ModelEndpoint, ModelsConfig, Usage
from routerbench.errors import ConfigError
from routerbench.io import write_atomic

__all__ = ["STORE_NAME", "TABLE_NAME", "CollectOptions", "CollectResult", "collect"]

STORE_NAME = "collect.sqlite"
TABLE_NAME = "benchmark.parquet"
SUMMARY_NAME = "collect-summary.txt"
#: Output tokens reserved against --max-cost when a model's params set no max_tokens.
DEFAULT_MAX_TOKENS_RESERVE = 4096


@dataclass(frozen=True)
class CollectOptions:
    max_cost: float | None = None
    allow_code_execution: bool = False
    allow_no_netns: bool = False
    concurrency: int | None = None
    policy: RetryPolicy | None = None  # None: each endpoint's own retry settings
    code_workers: int = 2
    quiet: bool = False


@dataclass
class ModelTally:
    total: int = 0
    done_before: int = 0
    ok: int = 0
    failed: int = 0
    scored: int = 0
    dollars: float = 0.0
    judge_dollars: float = 0.0


@dataclass
class CollectResult:
    out_dir: Path
    table: Path | None
    rows: int
    stopped: str | None  # None (complete), "budget" or "interrupted"
    spent: float
    judge_spent: float
    tallies: dict[str, ModelTally]
    summary_lines: list[str]
    seconds: float


class _Budget:
    """Reserve a call's worst-case cost before it starts; never pass max_cost."""

    def __init__(self, limit: float | None) -> None:
        self.limit = limit
        self.spent = 0.0
        self.reserved = 0.0
        self.exhausted = False

    def reserve(self, amount: float) -> bool:
        if self.limit is None:
            return True
        if self.spent + self.reserved + amount > self.limit + 1e-12:
            self.exhausted = True
            return False
        self.reserved += amount
        return True

    def settle(self, reserved: float, actual: float) -> None:
        if self.limit is not None:
            self.reserved -= reserved
        self.spent += actual


@dataclass
class _Cell:
    index: int  # task index
    task: Task
    model: str
    key: bytes
    cell: int
    need_call: bool


def _worst_case_cost(ep: ModelEndpoint, messages: list[dict[str, str]]) -> float:
    counter = token_counter()
    prompt = math.ceil(counter.count_messages(messages) * 1.5) + 16
    out = ep.params.get("max_tokens") or ep.params.get("max_completion_tokens")
    out = int(out) if isinstance(out, (int, float)) and out > 0 else DEFAULT_MAX_TOKENS_RESERVE
    p = ep.price
    per_out = max(p.output_per_mtok, p.reasoning_per_mtok or 0.0)
    return (prompt * p.input_per_mtok + out * per_out) / 1e6 + p.per_request


def _usage_and_cost(
    ep: ModelEndpoint, messages: list[dict[str, str]], outcome: CallOutcome
) -> tuple[Usage, float, bool, str]:
    if outcome.usage is not None:
        return outcome.usage, ep.price.cost(outcome.usage), False, "provider"
    counter = token_counter()
    usage = Usage(
        prompt_tokens=counter.count_messages(messages),
        completion_tokens=counter.count(outcome.text or ""),
    )
    return usage, ep.price.cost(usage), True, counter.name


def _record(
    cell: int,
    key: bytes,
    task: Task,
    ep: ModelEndpoint,
    purpose: str,
    request: dict[str, Any] | str,
    messages: list[dict[str, str]],
    outcome: CallOutcome,
    parent: bytes | None = None,
) -> CallRecord:
    rec = CallRecord(
        key=key,
        cell=cell,
        sample_id=task.sample_id,
        task=task.task,
        model=ep.name,
        purpose=purpose,
        repeat=0,
        parent_key=parent,
        request=request if isinstance(request, str) else canonical_json(request),
        status=outcome.status,
        attempts=outcome.attempts,
        error=outcome.error,
        price_source=ep.price.source,
        price_date=ep.price.date.isoformat(),
    )
    if outcome.status == "ok":
        usage, cost, estimated, source = _usage_and_cost(ep, messages, outcome)
        rec.response = outcome.text
        rec.finish_reason = outcome.finish_reason
        rec.prompt_tokens = usage.prompt_tokens
        rec.completion_tokens = usage.completion_tokens
        rec.cached_tokens = usage.cached_tokens
        rec.reasoning_tokens = usage.reasoning_tokens
        rec.usage_source = source
        rec.cost = cost
        rec.cost_estimated = estimated
        rec.latency_s = outcome.latency_s
        rec.ttft_s = outcome.ttft_s
    return rec


def check_before_calls(tasks: list[Task], cfg: ModelsConfig, opts: CollectOptions) -> None:
    """Everything that would make the run fail half-way, refused before the first call."""
    if not tasks:
        raise ConfigError("the task file has no rows")
    for ep in cfg.models:
        ep.api_key()  # a named but unset key variable fails now, not after an hour
    scorers = {t.scorer for t in tasks}
    n_code = sum(t.scorer == "code" for t in tasks)
    if n_code and not opts.allow_code_execution:
        raise ConfigError(
            f"{n_code} task rows use the code scorer, which runs model-written code: pass "
            "--allow-code-execution to run it in the sandbox"
        )
    if n_code:
        from routerbench.collect.sandbox import isolation_mode

        if isolation_mode() is None and not opts.allow_no_netns:
            raise ConfigError(
                "code rows need the sandbox, and this machine allows no network/mount "
                "namespaces (root or unprivileged user namespaces); refusing to run model code"
            )
    if "judge" in scorers and cfg.judge is None:
        raise ConfigError("task rows use the judge scorer but MODELS.yaml has no 'judge:' entry")
    for name in scorers:
        get_scorer(name)  # unknown plug-ins fail here


class _Runner:
    def __init__(
        self,
        tasks: list[Task],
        cfg: ModelsConfig,
        store: Store,
        opts: CollectOptions,
        progress: Any,
    ) -> None:
        self.tasks = tasks
        self.cfg = cfg
        self.store = store
        self.opts = opts
        self.progress = progress
        self.budget = _Budget(opts.max_cost)
        self.scorers = {
            name: get_scorer(
                name,
                allow_code_execution=opts.allow_code_execution,
                allow_no_netns=opts.allow_no_netns,
            )
            for name in {t.scorer for t in tasks}
        }
        self.versions = {n: s.version for n, s in self.scorers.items()}
        self.tallies = {m.name: ModelTally() for m in cfg.models}
        self.endpoints = {m.name: m for m in cfg.models}
        self._model_json: dict[str, str] = {}
        self.judge_ep = cfg.get(cfg.judge.model) if cfg.judge is not None else None
        self.stop: asyncio.Event | None = None  # made inside each event loop
        self.stopped: str | None = None
        self.clients: dict[str, EndpointClient] = {}
        self.code_sem: asyncio.Semaphore | None = None
        self.judge_lock: dict[bytes, asyncio.Lock] = {}

    # ------------------------------------------------------------------ planning
    def plan(self, *, full: bool = False) -> dict[str, list[_Cell]]:
        """The cells to work on per model: missing answers, and answers lacking a score.

        Missing answers come from vectorised 64-bit ids against the store's index. When
        every stored answer has a final score of the current scorer version (the usual
        resume) no per-cell key is computed for the done cells at all.
        """
        digests = K.task_digests(self.tasks)
        t64 = K.digests_u64(digests)
        all_scored = not full and (
            self.store.n_final_scores(self.versions) >= self.store.n_ok_answers()
        )
        done_scores = None if all_scored else self.store.scores(self.versions)
        plan: dict[str, list[_Cell]] = {}
        done = self.store.done_index()
        for ep in self.cfg.models:
            md = K.model_digest(ep)
            cells = K.cell_ids(t64, md, 0)
            missing = np.zeros(len(cells), dtype=bool)
            missing[self.store.missing(cells, done)] = True
            todo = np.arange(len(cells)) if done_scores is not None else np.flatnonzero(missing)
            items = []
            for i in todo.tolist():
                task = self.tasks[i]
                key = K.answer_key(digests[i], md, 0)
                if not missing[i] and done_scores is not None:
                    scored = done_scores.get((key, task.scorer))
                    if scored is not None and scored["status"] in ("ok", "parse_fail"):
                        continue
                items.append(_Cell(i, task, ep.name, key, int(cells[i]), bool(missing[i])))
            tally = self.tallies[ep.name]
            tally.total = len(self.tasks)
            tally.done_before = len(self.tasks) - len(items)
            plan[ep.name] = items
        return plan

    # ------------------------------------------------------------------ calls
    async def _call(
        self, ep: ModelEndpoint, messages: list[dict[str, str]], overrides: dict | None = None
    ) -> CallOutcome | None:
        """One budgeted call; None when the budget or a stop request forbids starting it."""
        if self.stop.is_set():
            return None
        # Counting the prompt's tokens for a worst case is only needed under a budget.
        reserve = 0.0 if self.budget.limit is None else _worst_case_cost(ep, messages)
        if not self.budget.reserve(reserve):
            self.stopped = self.stopped or "budget"
            self.stop.set()
            return None
        actual = 0.0
        try:
            outcome = await self.clients[ep.name].call(messages, overrides)
            if outcome.status == "ok":
                _, actual, _, _ = _usage_and_cost(ep, messages, outcome)
            return outcome
        finally:
            self.budget.settle(reserve, actual)

    async def _answer(self, cell: _Cell) -> None:
        ep = self.endpoints[cell.model]
        tally = self.tallies[ep.name]
        if cell.need_call:
            messages = cell.task.messages_json()
            outcome = await self._call(ep, messages)
            if outcome is None:
                return
            rec = _record(
                cell.cell,
                cell.key,
                cell.task,
                ep,
                "answer",
                self._answer_request_json(cell.task, ep),
                messages,
                outcome,
            )
            stats = self.clients[ep.name].stats
            if outcome.status != "ok":
                self.store.put_call(rec)
                tally.failed += 1
                stats.failed += 1
                return
            tally.ok += 1
            tally.dollars += rec.cost or 0.0
            stats.ok += 1
            stats.dollars += rec.cost or 0.0
            stats.prompt_tokens += rec.prompt_tokens or 0
            stats.completion_tokens += rec.completion_tokens or 0
            immediate = cell.task.scorer not in ("code", "judge")
            score = self._score_sync(cell, rec.response or "") if immediate else None
            self.store.put_call(rec, score)  # the call and its score: one transaction
            if immediate:
                tally.scored += 1
                return
            response = rec.response or ""
        else:
            row = self.store.get_call(cell.key)
            if row is None or row["status"] != "ok":  # pragma: no cover - id prefilter only
                cell.need_call = True
                await self._answer(cell)
                return
            response = row["response"] or ""
        score = await self._score_async(cell, response)
        if score is not None:
            self.store.put_score(score)
            tally.scored += 1

    def _answer_request_json(self, task: Task, ep: ModelEndpoint) -> str:
        """``canonical_json(K.answer_request(task, ep, 0))`` with the model's part encoded
        once per run: keys sort as model < repeat < task, and the compact, key-sorted
        encoding of a nested value is the same inside the whole as on its own."""
        model_json = self._model_json.get(ep.name)
        if model_json is None:
            model_json = self._model_json[ep.name] = canonical_json(K.model_identity(ep))
        task_json = canonical_json(K.task_identity(task))
        return f'{{"model":{model_json},"repeat":0,"task":{task_json}}}'

    def _score_sync(self, cell: _Cell, response: str) -> ScoreRecord:
        scorer = self.scorers[cell.task.scorer]
        return self._score_record(cell, scorer, scorer.score(cell.task, response))

    def _score_record(self, cell: _Cell, scorer: Any, s: Score, judge_cost=None) -> ScoreRecord:
        return ScoreRecord(
            cell.key,
            scorer.name,
            scorer.version,
            s.status,
            s.quality,
            s.detail,
            s.extra,
            judge_cost,
        )

    async def _score_async(self, cell: _Cell, response: str) -> ScoreRecord | None:
        scorer = self.scorers[cell.task.scorer]
        if cell.task.scorer == "judge":
            return await self._judge(cell, scorer, response)
        if cell.task.scorer == "code":
            assert self.code_sem is not None
            async with self.code_sem:
                if self.stop.is_set():
                    return None
                s = await asyncio.to_thread(scorer.score, cell.task, response)
            return self._score_record(cell, scorer, s)
        return self._score_record(cell, scorer, scorer.score(cell.task, response))

    async def _judge(self, cell: _Cell, scorer: JudgeScorer, response: str) -> ScoreRecord | None:
        assert self.judge_ep is not None
        ep = self.judge_ep
        history: list[str] = []
        cost = 0.0
        md = K.model_digest(ep).hex()
        for attempt in range(scorer.max_reasks + 1):
            messages = scorer.messages(cell.task, response, tuple(history))
            request = {
                "judge": scorer.version,
                "judged": cell.key.hex(),
                "model": md,
                "attempt": attempt,
                "messages": messages,
            }
            key = K.digest(request)
            row = self.store.get_call(key)
            if row is None or row["status"] != "ok":
                outcome = await self._call(ep, messages, {"temperature": 0})
                if outcome is None:
                    return None
                rec = _record(
                    K.key_cell(key),
                    key,
                    cell.task,
                    ep,
                    "judge",
                    request,
                    messages,
                    outcome,
                    parent=cell.key,
                )
                self.store.put_call(rec)
                if outcome.status != "ok":
                    return self._score_record(
                        cell,
                        scorer,
                        Score("error", None, f"judge call failed: {outcome.error}"),
                        cost,
                    )
                row = {"response": rec.response, "cost": rec.cost}
                self.tallies[cell.model].judge_dollars += rec.cost or 0.0
            cost += row["cost"] or 0.0
            rating = parse_rating(row["response"])
            if rating is not None:
                return self._score_record(
                    cell, scorer, scorer.from_rating(rating, attempt + 1), cost
                )
            history.append(row["response"] or "")
        return self._score_record(
            cell, scorer, scorer.from_rating(None, scorer.max_reasks + 1), cost
        )

    # ------------------------------------------------------------------ run
    async def run(self, plan: dict[str, list[_Cell]]) -> None:
        self.stop = asyncio.Event()
        self.code_sem = asyncio.Semaphore(max(1, self.opts.code_workers))
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGINT, self._interrupt)
        for ep in self.cfg.models:
            self.clients[ep.name] = EndpointClient(
                ep, policy=self.opts.policy, concurrency=self.opts.concurrency
            )
        workers = []
        try:
            for ep in self.cfg.models:
                queue: asyncio.Queue[_Cell] = asyncio.Queue()
                for c in plan[ep.name]:
                    queue.put_nowait(c)
                n = min(self.clients[ep.name].limit.max_limit, max(1, queue.qsize()))
                workers += [asyncio.create_task(self._worker(queue)) for _ in range(n)]
            ticker = asyncio.create_task(self._tick())
            waiter = asyncio.create_task(self.stop.wait())
            gathered = asyncio.gather(*workers)
            await asyncio.wait({gathered, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if self.stopped == "interrupted":
                for w in workers:
                    w.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await gathered
            waiter.cancel()
            ticker.cancel()
        finally:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(signal.SIGINT)
            for c in self.clients.values():
                await c.aclose()

    def _interrupt(self) -> None:
        self.stopped = "interrupted"
        self.stop.set()

    async def _worker(self, queue: asyncio.Queue[_Cell]) -> None:
        while not queue.empty() and not self.stop.is_set():
            cell = queue.get_nowait()
            await self._answer(cell)

    async def _tick(self) -> None:
        while True:
            self.progress.update(self)
            await asyncio.sleep(0.25)


# ---------------------------------------------------------------------- table
_TABLE_COLUMNS = [
    "sample_id",
    "task",
    "dataset",
    "prompt",
    "label",
    "model",
    "quality",
    "cost",
    "latency",
    "ttft",
    "response",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "status",
    "cost_estimated",
    "usage_source",
    "price_source",
    "price_date",
    "scorer",
    "scorer_version",
    "score_detail",
    "judge_cost",
]


def build_table(
    tasks: list[Task], cfg: ModelsConfig, store: Store, versions: dict[str, str]
) -> tuple[pd.DataFrame, int]:
    """The long table of every cell with an ok answer and an ok score, from the store,
    and the number of ok answers that have no final score yet."""
    digests = K.task_digests(tasks)
    scores = store.scores(versions)
    wanted: dict[bytes, tuple[int, ModelEndpoint]] = {}
    for ep in cfg.models:
        md = K.model_digest(ep)
        for i, d in enumerate(digests):
            wanted[K.answer_key(d, md, 0)] = (i, ep)
    calls = store.ok_calls(wanted)
    rows = []
    unscored = 0
    for key, (i, ep) in wanted.items():
        call = calls.get(key)
        task = tasks[i]
        sc = scores.get((key, task.scorer))
        if call is not None and (sc is None or sc["status"] not in ("ok", "parse_fail")):
            unscored += 1
        if call is None or sc is None or sc["status"] != "ok" or sc["quality"] is None:
            continue
        rows.append(
            (
                task.sample_id,
                task.task,
                task.dataset or task.task.split("-")[0],
                task.prompt,
                task.label,
                ep.name,
                float(sc["quality"]),
                float(call["cost"]),
                call["latency_s"],
                call["ttft_s"],
                call["response"],
                call["prompt_tokens"],
                call["completion_tokens"],
                call["cached_tokens"],
                call["reasoning_tokens"],
                call["status"],
                bool(call["cost_estimated"]),
                call["usage_source"],
                call["price_source"],
                call["price_date"],
                sc["scorer"],
                sc["version"],
                sc["detail"] or "",
                float(sc["judge_cost"] or 0.0),
            )
        )
    df = pd.DataFrame(rows, columns=_TABLE_COLUMNS)
    for col in ("latency", "ttft"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    for col in ("prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens"):
        df[col] = df[col].astype("Int64")
    order = {t.sample_id: i for i, t in enumerate(tasks)}
    morder = {m.name: j for j, m in enumerate(cfg.models)}
    df["_o"] = df["sample_id"].map(order) * len(morder) + df["model"].map(morder)
    df = df.sort_values("_o", kind="stable").drop(columns="_o").reset_index(drop=True)
    return df, unscored


def _summary(runner: _Runner, table: pd.DataFrame, store: Store, started: float) -> list[str]:
    lines = []
    for ep in runner.cfg.models:
        t = runner.tallies[ep.name]
        sub = table[table["model"] == ep.name]
        quality = f"{sub['quality'].mean():.3f}" if len(sub) else "n/a"
        lines.append(
            f"{ep.name}: {len(sub)}/{t.total} cells in the table "
            f"({t.done_before} from earlier runs, {t.ok} new ok, {t.failed} failed this run); "
            f"quality {quality}; this run ${t.dollars:.6f} (+ judge ${t.judge_dollars:.6f})"
        )
    counter = token_counter()
    for ep in runner.cfg.models:
        sub = table[(table["model"] == ep.name) & (table["usage_source"] == "provider")]
        if len(sub):
            est_p = np.array([counter.count(p) for p in sub["prompt"]])
            est_c = np.array([counter.count(r or "") for r in sub["response"]])
            flags = usage_flags(
                ep.name,
                sub["prompt_tokens"].to_numpy(dtype=float),
                sub["completion_tokens"].to_numpy(dtype=float),
                est_p,
                est_c,
                sub["prompt"].nunique(),
            )
            lines += [f"usage flag: {ln}" for ln in flags.lines()]
        n_est = int(table[table["model"] == ep.name]["cost_estimated"].sum())
        if n_est:
            lines.append(
                f"usage flag: {ep.name}: {n_est} calls had no usage; tokens counted with "
                f"{counter.name} (cost_estimated)"
            )
    failed = store.db.execute(
        "SELECT model, status, COUNT(*) FROM calls WHERE status != 'ok' GROUP BY model, status"
    ).fetchall()
    for model, status, n in failed:
        lines.append(f"not ok in the store: {model}: {n} {status} (retried on the next run)")
    nscore = store.db.execute(
        "SELECT scorer, status, COUNT(*) FROM scores WHERE status != 'ok' GROUP BY scorer, status"
    ).fetchall()
    for scorer, status, n in nscore:
        lines.append(f"scores not ok: {scorer}: {n} {status}")
    lines.append(
        f"spent this run ${runner.budget.spent:.6f}"
        + (f" of --max-cost ${runner.opts.max_cost:g}" if runner.opts.max_cost is not None else "")
        + f"; store total ${store.total_cost():.6f}; {time.monotonic() - started:.1f} s"
    )
    return lines


class _NoProgress:
    def update(self, runner: _Runner) -> None:
        pass

    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def collect(
    tasks: list[Task],
    cfg: ModelsConfig,
    out_dir: str | Path,
    opts: CollectOptions | None = None,
    *,
    progress_factory: Callable[[], Any] | None = None,
) -> CollectResult:
    """Collect every missing cell of tasks × models into `out_dir` (resumable)."""
    opts = opts or CollectOptions()
    check_before_calls(tasks, cfg, opts)
    out = Path(out_dir)
    started = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    for stale in [*out.glob(f".{TABLE_NAME}.*.tmp"), *out.glob(f".{SUMMARY_NAME}.*.tmp")]:
        stale.unlink(missing_ok=True)  # left by a run that was killed while writing
    with Store(out / STORE_NAME) as store:
        progress = progress_factory() if progress_factory and not opts.quiet else _NoProgress()
        with progress:
            runner = _Runner(tasks, cfg, store, opts, progress)
            plan = runner.plan()
            if hasattr(progress, "start"):
                progress.start(runner)
            asyncio.run(runner.run(plan))
            table, unscored = build_table(tasks, cfg, store, runner.versions)
            if unscored and runner.stopped is None:
                # Answers whose score the fast resume check could not see (a task whose
                # scorer changed): score them now, from the stored answers.
                asyncio.run(runner.run(runner.plan(full=True)))
                table, unscored = build_table(tasks, cfg, store, runner.versions)
            progress.update(runner)
        target = out / TABLE_NAME
        if len(table):
            write_atomic(target, lambda p: table.to_parquet(p, index=False))
        store.write_snapshot()  # a fast start for the next resume of a big store
        lines = _summary(runner, table, store, started)
        write_atomic(out / SUMMARY_NAME, lambda p: p.write_text("\n".join(lines) + "\n"))
    judge = sum(t.judge_dollars for t in runner.tallies.values())
    return CollectResult(
        out_dir=out,
        table=target if len(table) else None,
        rows=len(table),
        stopped=runner.stopped,
        spent=runner.budget.spent,
        judge_spent=judge,
        tallies=runner.tallies,
        summary_lines=lines,
        seconds=time.monotonic() - started,
    )
