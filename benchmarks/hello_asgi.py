"""A bare ASGI app, the baseline of serve_decisions.py and batch_decisions.py.

No framework, no state, no disk: it reads the request body and answers

- ``POST /v1/decisions/batch[?deny_every=K]``: the body decoded as JSON (orjson), and for
  each of its ``requests`` a canned result of the shape and size of the service's (allow,
  or every K-th a deny with one reason), encoded again: about the same bytes cross the
  wire both ways as with the service and the same JSON work is done, but no deciding and
  no access log;
- anything else: a small fixed JSON body (hello world).

Served by granian exactly as ``xinyong serve`` serves the service (ASGI, uvloop,
backlog 2048, access log off; see src/xinyong/cli/serve.py):

    python benchmarks/hello_asgi.py --port 8001 --workers 1
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson

HELLO = b'{"hello":"world","decision":"allow"}'

# An allow answer of the service (flight.ticket.purchase, no measures), values made up.
ALLOW = {
    "decision_id": "5b0e3c1e-8d5f-4a55-9a4e-0c7f1d2b3a4c",
    "decision": "allow",
    "rewards": [],
    "reasons": [],
    "valid_until": None,
    "remedy": None,
    "subject": "1101**********1234",
    "subject_ref": "0f3a5c7e9b1d2f4a6c8e0b1d",
    "action": "flight.ticket.purchase",
    "context": {},
    "purpose": "bench",
    "policy": "xinyong-default 2026.11",
    "evaluated_as_of": "2026-11-24",
    "decided_on": "2026-11-24",
}


_REMEDY = (
    "Perform the obligations of the judgment or reach and perform a settlement with the "
    "creditor; the court then removes the listing and lifts the restriction within three "
    "working days. If you should not have been listed, or the information is wrong, apply in "
    "writing to the enforcing court (Arts. 11 and 12 of Fa Shi [2017] No. 7). A person "
    "restricted because of an organisation may ask the court for leave to spend their own "
    "money for personal or family needs."
)
# A deny answer with one reason, as the service gives a person listed as a defaulter.
DENY = {
    **ALLOW,
    "decision": "deny",
    "reasons": [
        {
            "measure": "high_consumption_travel",
            "label": "No air travel, soft sleepers, high-speed or first-class trains, upper "
            "ship cabins or holidays",
            "trigger": {
                "kind": "list",
                "id": "judicial_defaulters",
                "ref": "judicial_defaulters:699",
            },
            "applies_as": "subject",
            "via": None,
            "records": [699],
            "legal_basis": "Fa Shi [2015] No. 17, Art. 3(1), (6) and (9); for an organisation, "
            "its legal representative, principal responsible person and actual controller "
            "(Art. 3, para. 2); joint punishment memorandum (Fa Gai Cai Jin [2016] No. 141)",
            "valid_until": None,
            "remedy": _REMEDY,
        }
    ],
    "remedy": _REMEDY,
}


async def _read(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _deny_every(scope: dict[str, Any]) -> int:
    for part in scope.get("query_string", b"").decode().split("&"):
        name, _, value = part.partition("=")
        if name == "deny_every" and value.isdigit():
            return int(value)
    return 0


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    body = await _read(receive)
    payload = HELLO
    if scope["path"] == "/v1/decisions/batch":
        items = orjson.loads(body).get("requests", [])
        every = _deny_every(scope)
        results = [
            {"index": i, "status": 200, "decision": DENY if every and i % every == 0 else ALLOW}
            for i in range(len(items))
        ]
        denied = sum(1 for r in results if r["decision"] is DENY)
        payload = orjson.dumps(
            {"results": results, "allowed": len(items) - denied, "denied": denied, "failed": 0}
        )
    headers = [
        (b"content-length", str(len(payload)).encode()),
        (b"content-type", b"application/json"),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    from granian import Granian
    from granian.constants import Interfaces, Loops

    here = Path(__file__).resolve().parent
    sys.path.insert(0, str(here))
    Granian(
        "hello_asgi:app",
        interface=Interfaces.ASGI,
        address=args.host,
        port=args.port,
        workers=args.workers,
        loop=Loops.uvloop,
        backlog=2048,
        log_access=False,
        working_dir=here,
    ).serve()


if __name__ == "__main__":
    main()
