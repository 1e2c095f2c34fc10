"""`xinyong serve`: the decision service on granian, a production ASGI server."""

from __future__ import annotations

import errno
import os
import socket

import typer

from xinyong.cli.output import err_console, handle_errors
from xinyong.cli.state import context
from xinyong.errors import ConfigurationError


def check_address(host: str, port: int) -> None:
    """Refuse, before anything says it is serving, an address this process cannot listen on.
    The test binds without SO_REUSEPORT, so a port that another server holds (even one that
    would share it, as a second granian would) is refused instead of silently shared."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ConfigurationError(
            f"Cannot listen on {host!r}: {exc.strerror}.",
            hint="Give --host an address of this machine, such as 127.0.0.1 or 0.0.0.0.",
        ) from None
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigurationError(
                    f"Port {port} on {host} is already in use: another server (perhaps "
                    "another xinyong serve) is listening there.",
                    hint="Stop it, or choose another port with --port.",
                ) from None
            raise ConfigurationError(
                f"Cannot listen on {host}:{port}: {exc.strerror}.",
                hint="Give --host an address of this machine, such as 127.0.0.1 or 0.0.0.0.",
            ) from None


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
    port: int = typer.Option(8000, min=1, max=65535, help="Port to listen on."),
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
    check_address(host, port)
    export_settings(ctx)
    err_console.print(f"[dim]Serving on http://{host}:{port} (docs at /docs)[/]")
    run_server(host, port, workers)
