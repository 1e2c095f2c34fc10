"""The HTTP interface: one ASGI app (Starlette) over the same functions as the CLI."""
