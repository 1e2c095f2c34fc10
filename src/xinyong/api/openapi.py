"""The OpenAPI 3.1 document, built from the schema models, and the interactive docs page."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from xinyong import __version__
from xinyong.api import schemas
from xinyong.policy.model import Policy

MODELS: list[type[BaseModel]] = [
    schemas.DecisionRequest,
    schemas.BatchRequest,
    schemas.Decision,
    schemas.BatchResponse,
    schemas.ChangesResponse,
    schemas.RecordsRequest,
    schemas.RecordsResponse,
    schemas.AccessLogResponse,
    schemas.NoticesResponse,
    schemas.SubjectFile,
    schemas.ObjectionRequest,
    schemas.Objection,
    schemas.ObjectionsResponse,
    schemas.ObjectionDecisionRequest,
    schemas.RepairRequest,
    schemas.Repair,
    schemas.RepairsResponse,
    schemas.RepairDecisionRequest,
    schemas.ConsentRequest,
    schemas.ConsentsResponse,
    schemas.ConsentAnswer,
    schemas.ProblemDocument,
]

_SUBJECT_ID = {"name": "subject_id", "in": "path", "required": True, "schema": {"type": "string"}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _problems(*statuses: int) -> dict[str, Any]:
    text = {
        401: "Missing or unknown credential.",
        403: "Outside the credential's grant.",
        404: "No such objection, record, list or organisation.",
        413: "Too many items, or a body too large.",
        422: "Malformed identifier, body or parameter.",
        503: "Nothing evaluated yet.",
    }
    return {
        str(s): {
            "description": text[s],
            "content": {"application/problem+json": {"schema": _ref("ProblemDocument")}},
        }
        for s in statuses
    }


def _ok(name: str, description: str, status: int = 200) -> dict[str, Any]:
    return {
        str(status): {
            "description": description,
            "content": {"application/json": {"schema": _ref(name)}},
        }
    }


def _body(name: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(name)}}}


def _int_query(name: str, low: int, high: int, default: int, text: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": text,
        "schema": {"type": "integer", "minimum": low, "maximum": high, "default": default},
    }


def _query(name: str, schema: dict[str, Any], text: str, required: bool = False) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": text,
        "schema": schema,
    }


def _public_paths() -> dict[str, Any]:
    """Public disclosure (anyone, no credential; identifiers of persons masked)."""
    anything = {"application/json": {"schema": {"type": "object"}}}
    csv = {"text/csv": {"schema": {"type": "string"}}}
    list_filters = [
        _query("region", {"type": "string", "pattern": "^[0-9]{2,6}$"}, "Region code or prefix."),
        _query("from", {"type": "string", "format": "date"}, "Listed on or after."),
        _query("to", {"type": "string", "format": "date"}, "Listed on or before."),
    ]
    return {
        "/v1/public/search": {
            "get": {
                "operationId": "publicSearch",
                "summary": "Organisations and agencies by name or code; persons on a public list "
                "by published name or exact identifier",
                "parameters": [
                    _query(
                        "q",
                        {"type": "string", "minLength": 1, "maxLength": 100},
                        "A name (2 characters or more) or a whole identifier.",
                        required=True,
                    )
                ],
                "responses": {"200": {"description": "Results.", "content": anything}},
            }
        },
        "/v1/public/lists": {
            "get": {
                "operationId": "publicLists",
                "summary": "The public lists with their entry counts, and the lists not published",
                "responses": {
                    "200": {"description": "Lists.", "content": anything},
                    **_problems(503),
                },
            }
        },
        "/v1/public/lists/{list}": {
            "get": {
                "operationId": "publicList",
                "summary": "One page of a public list, or the whole filtered list as CSV",
                "parameters": [
                    {
                        "name": "list",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
                    },
                    *list_filters,
                    _int_query("page", 1, 1_000_000, 1, "Page number."),
                    _int_query("per_page", 1, 200, 50, "Entries per page."),
                    _query("format", {"type": "string", "enum": ["json", "csv"]}, "json or csv."),
                ],
                "responses": {
                    "200": {"description": "Entries.", "content": {**anything, **csv}},
                    **_problems(404, 422),
                },
            }
        },
        "/v1/public/organisations/{code}": {
            "get": {
                "operationId": "publicOrganisation",
                "summary": "An organisation's or agency's public profile",
                "parameters": [
                    {
                        "name": "code",
                        "in": "path",
                        "required": True,
                        "description": "Unified social credit code.",
                        "schema": {"type": "string", "pattern": "^[0-9A-Z]{18}$"},
                    }
                ],
                "responses": {
                    "200": {"description": "The profile.", "content": anything},
                    **_problems(404),
                },
            }
        },
    }


@cache
def _components() -> dict[str, Any]:
    _, defs = models_json_schema(
        [(m, "validation") for m in MODELS], ref_template="#/components/schemas/{model}"
    )
    return defs["$defs"]


def document(policy: Policy) -> dict[str, Any]:
    components = {k: dict(v) for k, v in _components().items()}
    request = dict(components["DecisionRequest"])
    request["properties"] = {
        **request["properties"],
        "action": {**request["properties"]["action"], "enum": sorted(policy.actions)},
    }
    components["DecisionRequest"] = request
    partner: list[dict[str, list[str]]] = [{"partner": []}]
    spec: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "xinyong decision service",
            "version": __version__,
            "description": (
                "Partners ask whether a subject may take an action and get allow or deny with "
                "reasons, legal basis and remedy; every question is shown to the subject. "
                f"Policy: {policy.label}. Errors are RFC 9457 problem documents."
            ),
        },
        "components": {
            "schemas": components,
            "securitySchemes": {
                "partner": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Printed once by `xinyong partners add`.",
                },
                "source": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Printed once by `xinyong sources add` (or "
                    "`partners add --categories`).",
                },
                "subject": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Printed once by `xinyong subject credential ID`.",
                },
            },
        },
        "paths": {
            "/v1/health": {
                "get": {
                    "operationId": "health",
                    "summary": "Service status and snapshot size",
                    "responses": {
                        "200": {
                            "description": "Status.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
            "/v1/decisions": {
                "post": {
                    "operationId": "decide",
                    "summary": "May this subject take this action?",
                    "security": partner,
                    "requestBody": _body("DecisionRequest"),
                    "responses": {
                        **_ok("Decision", "The decision."),
                        **_problems(401, 403, 422, 503),
                    },
                }
            },
            "/v1/decisions/batch": {
                "post": {
                    "operationId": "decideBatch",
                    "summary": f"Up to {schemas.MAX_BATCH:,} decisions in one request",
                    "security": partner,
                    "requestBody": _body("BatchRequest"),
                    "responses": {
                        **_ok("BatchResponse", "One result per request, in order."),
                        **_problems(401, 413, 422),
                    },
                }
            },
            "/v1/changes": {
                "get": {
                    "operationId": "changes",
                    "summary": "Changes to measures covering your actions (long-poll, or SSE with "
                    "Accept: text/event-stream)",
                    "security": partner,
                    "parameters": [
                        _int_query("after", 0, 2**62, 0, "Cursor: the last one you received."),
                        _int_query("limit", 1, 1000, 100, "At most this many events."),
                        _int_query("wait", 0, 60, 0, "Seconds to wait for an event (long-poll)."),
                    ],
                    "responses": {
                        "200": {
                            "description": "CloudEvents after the cursor: one JSON answer, or"
                            " with `Accept: text/event-stream` a stream of server-sent events"
                            " whose `id:` is the cursor and `data:` one CloudEvent (resume"
                            " with `Last-Event-ID`).",
                            "content": {
                                "application/json": {"schema": _ref("ChangesResponse")},
                                "text/event-stream": {
                                    "schema": {
                                        "type": "string",
                                        "description": "Server-sent events: `id: CURSOR`,"
                                        " `event: TYPE` (the CloudEvent type), `data: {CloudEvent}`.",
                                    }
                                },
                            },
                        },
                        **_problems(401, 422),
                    },
                }
            },
            "/v1/records": {
                "post": {
                    "operationId": "submitRecords",
                    "summary": "Submit records (sources, and partners in their granted categories)",
                    "security": [{"source": []}],
                    "requestBody": _body("RecordsRequest"),
                    "responses": {
                        **_ok("RecordsResponse", "What became of each record."),
                        **_problems(401, 413, 422),
                    },
                }
            },
            "/v1/subjects/{subject_id}/access-log": {
                "get": {
                    "operationId": "accessLog",
                    "summary": "Who asked about this subject (the subject's own credential)",
                    "security": [{"subject": []}],
                    "parameters": [
                        {
                            "name": "subject_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        **_ok("AccessLogResponse", "Every access, oldest first."),
                        **_problems(401, 403, 422),
                    },
                }
            },
            "/v1/subjects/{subject_id}": {
                "get": {
                    "operationId": "subjectFile",
                    "summary": "The subject's whole file: records, state explained, remedies, "
                    "objections (the subject's own credential; logged in its access log)",
                    "security": [{"subject": []}],
                    "parameters": [_SUBJECT_ID],
                    "responses": {
                        **_ok("SubjectFile", "Everything held about the subject."),
                        **_problems(401, 403, 422),
                    },
                }
            },
            "/v1/subjects/{subject_id}/report": {
                "get": {
                    "operationId": "creditReport",
                    "summary": "The subject's signed credit report, a PDF to hand to a landlord "
                    "or a tender office (the subject's own credential; logged in its access log). "
                    "Anyone verifies it at /report/verify or with `xinyong report verify`",
                    "security": [{"subject": []}],
                    "parameters": [
                        _SUBJECT_ID,
                        {
                            "name": "lang",
                            "in": "query",
                            "required": False,
                            "description": "The report's language: Chinese (default) or English.",
                            "schema": {"type": "string", "enum": ["zh", "en"], "default": "zh"},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "The report, signed after its final %%EOF.",
                            "content": {
                                "application/pdf": {
                                    "schema": {"type": "string", "format": "binary"}
                                }
                            },
                        },
                        **_problems(401, 403, 422),
                    },
                }
            },
            "/v1/subjects/{subject_id}/notices": {
                "get": {
                    "operationId": "notices",
                    "summary": "What the subject was told, newest first (the subject's own "
                    "credential)",
                    "security": [{"subject": []}],
                    "parameters": [_SUBJECT_ID],
                    "responses": {
                        **_ok("NoticesResponse", "Notices in Chinese and English."),
                        **_problems(401, 403, 422),
                    },
                }
            },
            "/v1/subjects/{subject_id}/objections": {
                "get": {
                    "operationId": "objections",
                    "summary": "The subject's objections and their deadlines",
                    "security": [{"subject": []}],
                    "parameters": [_SUBJECT_ID],
                    "responses": {
                        **_ok("ObjectionsResponse", "Every objection, oldest first."),
                        **_problems(401, 403, 422),
                    },
                },
                "post": {
                    "operationId": "fileObjection",
                    "summary": "Object to one of the subject's records: it is disputed at once",
                    "security": [{"subject": []}],
                    "parameters": [_SUBJECT_ID],
                    "requestBody": _body("ObjectionRequest"),
                    "responses": {
                        **_ok("Objection", "The objection, with its deadline.", 201),
                        **_problems(401, 403, 404, 413, 422),
                    },
                },
            },
            "/v1/subjects/{subject_id}/repairs": {
                "get": {
                    "operationId": "repairs",
                    "summary": "The subject's credit repair applications",
                    "security": [{"subject": []}],
                    "parameters": [_SUBJECT_ID],
                    "responses": {
                        **_ok("RepairsResponse", "Every application, oldest first."),
                        **_problems(401, 403, 422),
                    },
                },
                "post": {
                    "operationId": "applyForRepair",
                    "summary": "Apply to repair one of the subject's records (after the minimum "
                    "period of its tier)",
                    "security": [{"subject": []}],
                    "parameters": [_SUBJECT_ID],
                    "requestBody": _body("RepairRequest"),
                    "responses": {
                        **_ok("Repair", "The application, with its deadline.", 201),
                        **_problems(401, 403, 404, 413, 422),
                    },
                },
            },
            "/v1/subjects/{subject_id}/consents": {
                "get": {
                    "operationId": "consents",
                    "summary": "The subject's consents, and the current text of each purpose",
                    "security": [{"subject": []}],
                    "parameters": [_SUBJECT_ID],
                    "responses": {
                        **_ok("ConsentsResponse", "Every consent, newest first."),
                        **_problems(401, 403, 422),
                    },
                },
                "post": {
                    "operationId": "giveOrWithdrawConsent",
                    "summary": "Give consent to one purpose on its current text, or withdraw it"
                    " (the subject alone)",
                    "security": [{"subject": []}],
                    "parameters": [_SUBJECT_ID],
                    "requestBody": _body("ConsentRequest"),
                    "responses": {
                        **_ok(
                            "ConsentAnswer", "Consent given (201) or unchanged or withdrawn (200)."
                        ),
                        "201": {
                            "description": "Consent given.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/ConsentAnswer"}
                                }
                            },
                        },
                        **_problems(401, 403, 413, 422),
                    },
                },
            },
            "/v1/repairs/{repair_id}/decision": {
                "post": {
                    "operationId": "decideRepair",
                    "summary": "Decide a repair application (the authority that decided the record)",
                    "security": [{"source": []}],
                    "parameters": [
                        {
                            "name": "repair_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "requestBody": _body("RepairDecisionRequest"),
                    "responses": {
                        **_ok("Repair", "The application, decided."),
                        **_problems(401, 403, 404, 422),
                    },
                }
            },
            "/v1/objections/{objection_id}/decision": {
                "post": {
                    "operationId": "decideObjection",
                    "summary": "Decide an objection (the source that submitted the record)",
                    "security": [{"source": []}],
                    "parameters": [
                        {
                            "name": "objection_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "requestBody": _body("ObjectionDecisionRequest"),
                    "responses": {
                        **_ok("Objection", "The objection, decided."),
                        **_problems(401, 403, 404, 422),
                    },
                }
            },
            **_public_paths(),
            "/v1/public/transparency": {
                "get": {
                    "operationId": "publicTransparency",
                    "summary": "The transparency figures: listings and removals by month and list, "
                    "removals reaching partners, objections, repairs, decisions by partner kind, "
                    "and the equality report with groups under the minimum cell size suppressed "
                    "(anyone; at most a minute old)",
                    "responses": {
                        "200": {
                            "description": "The figures (the /transparency page's numbers).",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
    }
    # Whatever else a route can answer (an unknown path 404, a method the path does not take
    # 405 with Allow, a server fault 500) is a problem document too: say so on every one.
    for operations in spec["paths"].values():
        for operation in operations.values():
            operation["responses"].setdefault("default", _OTHER)
    return spec


_OTHER = {
    "description": "Any other answer: 404 for an unknown path, 405 (with `Allow`) for a method"
    " the path does not take, 500 or 503 for a fault; each a problem document (RFC 9457).",
    "content": {"application/problem+json": {"schema": _ref("ProblemDocument")}},
}


@cache
def docs_page() -> str:
    return resources.files("xinyong.api").joinpath("docs.html").read_text(encoding="utf-8")
