"""``routerbench serve``: a trained router behind an OpenAI-compatible endpoint."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from routerbench.cli_support import user_errors
from routerbench.errors import ConfigError

__all__ = ["serve"]


@user_errors
def serve(
    artifact: Annotated[Path, typer.Argument(help="Router artifact from `routerbench train`.")],
    models: Annotated[Path, typer.Option("--models", help="MODELS.yaml naming the upstreams.")],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    wtp: Annotated[float, typer.Option("--wtp", help="Default willingness to pay λ.")] = 1.0,
    api_key_env: Annotated[
        str | None,
        typer.Option("--api-key-env", help="Variable holding the clients' bearer key(s)."),
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    route_on: Annotated[
        str, typer.Option(help="Routing text: 'last-user' turn or whole 'conversation'.")
    ] = "last-user",
    fail_open: Annotated[
        str | None,
        typer.Option("--fail-open", help="Model to use when the router fails (default: 503)."),
    ] = None,
    fallback: Annotated[
        list[str] | None,
        typer.Option("--fallback", help="Model tried after the ranking (repeatable)."),
    ] = None,
    decision_timeout_s: Annotated[float, typer.Option(help="Deadline of a decision.")] = 1.0,
    max_attempts: Annotated[int, typer.Option(help="Upstream calls per request.")] = 3,
    request_timeout_s: Annotated[float, typer.Option(help="Budget of one request.")] = 120.0,
    connect_timeout_s: Annotated[float, typer.Option(help="Per-attempt connect timeout.")] = 3.0,
    first_byte_timeout_s: Annotated[
        float | None,
        typer.Option(help="Per-attempt wait for the first byte / content chunk."),
    ] = None,
    max_body_bytes: Annotated[int, typer.Option(help="Largest request body.")] = 1_048_576,
    max_output_tokens: Annotated[
        int | None, typer.Option(help="Largest max_tokens a request may ask for.")
    ] = None,
    forward_client_key: Annotated[
        bool, typer.Option(help="Forward the client's key to upstreams without their own.")
    ] = False,
    stream_usage: Annotated[
        bool, typer.Option(help="Ask streamed upstreams for usage (tokens and dollars).")
    ] = True,
    log: Annotated[
        str | None, typer.Option("--log", help="JSON-lines request log file ('-': stderr).")
    ] = None,
    log_prompts: Annotated[bool, typer.Option(help="Put the routing text in the log.")] = False,
    breaker_threshold: Annotated[int, typer.Option(help="Failures that open a breaker.")] = 5,
    breaker_cooldown_s: Annotated[float, typer.Option(help="Open breaker's cool-down.")] = 10.0,
    decide_in: Annotated[
        str,
        typer.Option(
            help="Where the router runs: 'process' (a child of its own, the default via "
            "'auto'), or 'thread' (worker threads sharing the server's GIL)."
        ),
    ] = "auto",
) -> None:
    """Serve a trained router as an OpenAI-compatible chat endpoint (POST /v1/chat/completions)."""
    try:
        import uvicorn

        from routerbench.serve.app import load_app, tune_process
    except ImportError as exc:
        raise ConfigError(
            f"routerbench serve needs the 'serve' extra ({exc.name} is missing): "
            "pip install 'routerbench[serve]'"
        ) from None
    from routerbench.serve.settings import ServeSettings

    settings = ServeSettings(
        willingness_to_pay=wtp,
        route_on=route_on,
        fail_open_model=fail_open,
        fallbacks=tuple(fallback or ()),
        decision_timeout_s=decision_timeout_s,
        max_attempts=max_attempts,
        request_timeout_s=request_timeout_s,
        connect_timeout_s=connect_timeout_s,
        first_byte_timeout_s=first_byte_timeout_s,
        max_body_bytes=max_body_bytes,
        max_output_tokens=max_output_tokens,
        api_key_env=api_key_env,
        forward_client_key=forward_client_key,
        stream_usage=stream_usage,
        log_path=log,
        log_prompts=log_prompts,
        breaker_threshold=breaker_threshold,
        breaker_cooldown_s=breaker_cooldown_s,
        decide_in=decide_in,
    )
    app = load_app(artifact, models, settings)  # refuses bad files and options before binding
    tune_process()
    if workers == 1:
        uvicorn.run(app, host=host, port=port, access_log=False, log_level="info")
        return
    metrics_dir = tempfile.mkdtemp(prefix="routerbench-metrics-")
    spec = {"artifact": str(artifact), "models": str(models), "settings": settings.to_json()}
    os.environ["ROUTERBENCH_SERVE_SPEC"] = json.dumps(spec)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        uvicorn.run(
            "routerbench.serve.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            access_log=False,
            log_level="info",
        )
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
