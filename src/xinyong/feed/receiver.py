"""A minimal webhook receiver (`xinyong partners receive`): how a partner checks and reads
what the feed delivers. Real partners do the same in their own stack."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from contextlib import suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson

from xinyong.feed.signatures import sign


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """True when the Standard Webhooks signature matches ``body``."""
    try:
        expected = sign(secret, headers["webhook-id"], int(headers["webhook-timestamp"]), body)
    except (KeyError, ValueError):
        return False
    given = headers.get("webhook-signature", "").split()
    return any(hmac.compare_digest(expected, g) for g in given)


def serve_receiver(port: int, secret: str | None, say: Callable[[str], None]) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            check = (
                ""
                if secret is None
                else (" [signature ok]" if verify(secret, headers, body) else " [BAD SIGNATURE]")
            )
            for event in orjson.loads(body):
                data = event["data"]
                say(
                    f"{event['type']} #{event['id']} subject_ref={data['subject_ref']} "
                    f"measure={data['measure']} status={data['status']} "
                    f"until={data['valid_until']} cause={data['cause']}{check}"
                )
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # quiet
            return

    with ThreadingHTTPServer(("127.0.0.1", port), Handler) as server, suppress(KeyboardInterrupt):
        server.serve_forever()
