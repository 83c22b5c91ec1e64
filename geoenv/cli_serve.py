"""``geoenv serve``: run the question-validation service (registered on the CLI app when
:mod:`geoenv.cli` imports this module)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from geoenv.cli import app, console


@app.command()
def serve(
    scenes: Annotated[
        str,
        typer.Option(
            "--scenes",
            help="Scenes directory, manifest file, or 'demo:A-B' (loaded lazily).",
        ),
    ],
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8000,
    host: Annotated[
        str | None,
        typer.Option(
            "--host",
            help="Bind address; beyond 127.0.0.1 only with GEOENV_API_KEY set (default: "
            "127.0.0.1 without a key, 0.0.0.0 with one).",
        ),
    ] = None,
    cache_mb: Annotated[
        int, typer.Option("--cache-mb", help="Memory bound of the scene cache (estimated MiB).")
    ] = 2048,
    threads: Annotated[int, typer.Option("--threads", help="Worker threads.")] = 1,
    time_budget: Annotated[
        float, typer.Option("--time-budget", help="Seconds of work per request.")
    ] = 5.0,
    max_batch: Annotated[int, typer.Option("--max-batch", help="Most proposals per batch.")] = 256,
    max_body_kb: Annotated[
        int, typer.Option("--max-body-kb", help="Largest request body (KiB).")
    ] = 1024,
) -> None:
    """Serve POST /v1/validate and /v1/score over HTTP (OpenAPI at /docs; docs/service.md).

    The API key, if any, is read from the environment variable GEOENV_API_KEY."""
    from geoenv.errors import GeoenvError
    from geoenv.oracles.service import API_KEY_ENV, ServiceLimits, bind_host, serve

    key = os.environ.get(API_KEY_ENV) or None
    try:
        bind = bind_host(host, key)
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    limits = ServiceLimits(
        max_body_bytes=max_body_kb * 1024, max_batch=max_batch, time_budget_s=time_budget
    )
    console.print(
        f"geoenv serve: scenes {scenes!r} on http://{bind}:{port} "
        f"({'API key required' if key else 'no API key, loopback only'}); docs at /docs"
    )
    try:
        serve(
            scenes,
            host=bind,
            port=port,
            api_key=key,
            limits=limits,
            cache_bytes=cache_mb * 1024 * 1024,
            threads=threads,
        )
    except GeoenvError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
