"""Helpers for collect tests: task files and MODELS.yaml pointing at stub servers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

TOPICS = ["astronomy", "anatomy", "law", "physics", "history", "biology", "chemistry", "music"]


def write_tasks(path: Path, n: int, *, start: int = 0) -> list[dict]:
    """n multiple-choice rows with varied prompts; the stub answers the letter after 'pick '."""
    rows = []
    for i in range(start, start + n):
        topic = TOPICS[i % len(TOPICS)]
        rows.append(
            {
                "sample_id": f"q{i}",
                "task": f"mmlu-{topic}",
                "prompt": f"Question {i} about {topic} number {i * 7 % 13}: which fits? "
                f"pick {'ABCD'[i % 4]}",
                "label": "ABCD"[(i * 3) % 4],
                "scorer": "mc",
            }
        )
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return rows


def write_models(path: Path, entries: list[dict], judge: str | None = None) -> Path:
    lines = ["models:"]
    for e in entries:
        lines.append(f"  - name: {e['name']}")
        lines.append(f"    base_url: {e['url']}")
        lines.append(f"    model: {e.get('model', 'stub')}")
        for key in (
            "timeout_s",
            "max_concurrency",
            "api_key_env",
            "stream",
            "max_attempts",
            "retry_base_s",
            "retry_wall_s",
        ):
            if key in e:
                lines.append(f"    {key}: {json.dumps(e[key])}")
        lines.append(f"    params: {json.dumps(e.get('params', {'temperature': 0}))}")
        if e.get("price", True) is not None:
            price = e.get("price") or {
                "input_per_mtok": 1.5,
                "output_per_mtok": 4.0,
                "cached_input_per_mtok": 0.25,
                "reasoning_per_mtok": 8.0,
                "per_request": 0.0001,
                "source": "test price table",
                "date": "2026-12-01",
            }
            lines.append(f"    price: {json.dumps(price)}")
    if judge:
        lines.append(f"judge: {{model: {judge}}}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def tasks_file(tmp_path: Path) -> Path:
    p = tmp_path / "tasks.jsonl"
    write_tasks(p, 12)
    return p
