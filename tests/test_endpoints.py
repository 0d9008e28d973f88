"""MODELS.yaml: validation, exact-name lookup, prices, and keys read only from the environment."""

from __future__ import annotations

import pytest

from routerbench.endpoints import Usage, load_models_config
from routerbench.errors import ConfigError

GOOD = """\
models:
  - name: small-t0
    base_url: http://127.0.0.1:8001/v1/
    model: smollm2
    api_key_env: SMALL_KEY
    params: {temperature: 0, max_tokens: 256}
    price: {input_per_mtok: 0.2, output_per_mtok: 0.4, cached_input_per_mtok: 0.1,
            reasoning_per_mtok: 0.8, per_request: 0.001, source: "price page", date: 2026-12-01}
  - name: big
    base_url: https://example.invalid/v1
    model: big-model
    price: {input_per_mtok: 1, output_per_mtok: 2, source: "x", date: 2026-12-01}
judge: {model: small-t0}
"""


def _write(tmp_path, text):
    p = tmp_path / "models.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_good_file_loads_and_prices_every_token_kind(tmp_path):
    cfg = load_models_config(_write(tmp_path, GOOD))
    small = cfg.get("small-t0")
    assert small.base_url == "http://127.0.0.1:8001/v1"
    usage = Usage(
        prompt_tokens=1000, cached_tokens=400, completion_tokens=300, reasoning_tokens=100
    )
    expected = (600 * 0.2 + 400 * 0.1 + 200 * 0.4 + 100 * 0.8) / 1e6 + 0.001
    assert small.price.cost(usage) == pytest.approx(expected, abs=1e-12)
    big = cfg.get("big")  # cached and reasoning default to the input and output prices
    assert big.price.cost(usage) == pytest.approx((1000 * 1 + 300 * 2) / 1e6, abs=1e-12)
    with pytest.raises(ConfigError, match="no model named 'smal'"):
        cfg.get("smal")


def test_key_comes_from_the_environment_and_is_never_shown(tmp_path, monkeypatch):
    cfg = load_models_config(_write(tmp_path, GOOD))
    monkeypatch.delenv("SMALL_KEY", raising=False)
    with pytest.raises(ConfigError, match="SMALL_KEY is not set"):
        cfg.get("small-t0").api_key()
    monkeypatch.setenv("SMALL_KEY", "sk-secret-123")
    assert cfg.get("small-t0").api_key() == "sk-secret-123"
    assert "sk-secret" not in repr(cfg)
    assert cfg.get("big").api_key() is None


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda t: t.replace("judge: {model: small-t0}", "judge: {model: nope}"),
            "judge.model 'nope' is not the name",
        ),
        (lambda t: t.replace("name: big", "name: small-t0"), "name 'small-t0' is used twice"),
        (
            lambda t: t.replace(
                '    price: {input_per_mtok: 1, output_per_mtok: 2, source: "x", '
                "date: 2026-12-01}\n",
                "",
            ),
            r"models\[1\].price: Field required",
        ),
        (
            lambda t: t.replace("api_key_env: SMALL_KEY", "api_key_env: sk-abc def"),
            "never the key itself",
        ),
        (
            lambda t: t.replace("input_per_mtok: 0.2", "input_per_mtok: -1"),
            r"models\[0\].price.input_per_mtok",
        ),
        (lambda t: t.replace("http://127.0.0.1:8001/v1/", "127.0.0.1:8001"), "http:// or https://"),
        (lambda t: t + "judge: {model: big}\n", "duplicate key 'judge'"),
        (
            lambda t: t.replace("max_tokens: 256", "max_tokens: 256, stream: true"),
            "'stream' is set",
        ),
        (lambda t: "", "the file is empty"),
    ],
)
def test_bad_files_get_one_line_naming_the_key(tmp_path, edit, message):
    with pytest.raises(ConfigError, match=message) as info:
        load_models_config(_write(tmp_path, edit(GOOD)))
    assert "\n" not in str(info.value)
