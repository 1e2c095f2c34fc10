"""The OpenAPI document is valid 3.1 and describes what a generated client needs: the
server-sent events form of the change feed, and problem documents for every other answer."""

from __future__ import annotations

from openapi_spec_validator import validate

from xinyong.api.openapi import document
from xinyong.policy.loader import load_policy


def test_the_document_is_valid_and_describes_the_stream_and_every_problem() -> None:
    spec = document(load_policy())
    validate(spec)  # raises on an invalid OpenAPI 3.1 document
    changes = spec["paths"]["/v1/changes"]["get"]["responses"]["200"]["content"]
    assert set(changes) == {"application/json", "text/event-stream"}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            other = operation["responses"].get("default")
            assert other is not None, f"{method.upper()} {path} has no default answer"
            assert "application/problem+json" in other["content"]
            assert "404" in other["description"] and "405" in other["description"]
