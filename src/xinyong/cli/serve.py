"""`xinyong serve`: the decision service on granian, a production ASGI server."""

from __future__ import annotations

import os

import typer

from xinyong.cli.output import err_console, handle_errors
from xinyong.cli.state import context


def run_server(host: str, port: int, workers: int) -> None:
    from granian import Granian
    from granian.constants import Interfaces, Loops

    Granian(
        "xinyong.api.app:create_app",
        factory=True,
        interface=Interfaces.ASGI,
        address=host,
        port=port,
        workers=workers,
        loop=Loops.uvloop,
        backlog=2048,
        log_access=False,
    ).serve()


def export_settings(ctx: typer.Context) -> None:
    """Workers are new processes: they read the settings from the environment."""
    settings = context(ctx).settings
    os.environ["XINYONG_DATA_DIR"] = str(settings.data_dir)
    if settings.database_url:
        os.environ["XINYONG_DATABASE_URL"] = settings.database_url


@handle_errors
def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, min=1, help="Worker processes (about one per core)."),
) -> None:
    """Serve the HTTP API: decisions, change feed, records and access logs.

    OpenAPI at /openapi.json, interactive docs at /docs. Other commands (ingest, evaluate,
    partners add) keep working alongside; the service picks their changes up within a
    fraction of a second. Stop with Ctrl-C.
    """
    app = context(ctx)
    _ = app.secret, app.policy  # fail here, readably, rather than in every worker
    with app.store.transaction():
        pass  # brings the schema up to date before the workers start
    export_settings(ctx)
    err_console.print(f"[dim]Serving on http://{host}:{port} (docs at /docs)[/]")
    run_server(host, port, workers)
