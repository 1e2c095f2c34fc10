"""Read a policy directory (one directory is one policy version) into a ``Policy``.

Every ``*.yaml`` file in the directory may hold any of the sections ``policy`` (name,
version, description), ``lists``, ``scores``, ``measures`` and ``actions``; each section maps
an id to its rule. Shape errors name the file and line; what the rules mean is checked by
``policy.check``.
"""

from __future__ import annotations

import hashlib
import re
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from xinyong.errors import PolicyError
from xinyong.policy.model import Action, ListRule, Measure, Policy, Score
from xinyong.policy.yamlmarks import Located, locate, read_yaml
from xinyong.sql import MAX_NAME, is_identifier

_ACTION_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")

SECTIONS: dict[str, type[BaseModel]] = {
    "lists": ListRule,
    "scores": Score,
    "measures": Measure,
    "actions": Action,
}


def default_policy_path() -> Path:
    return Path(str(resources.files("xinyong.policy").joinpath("default")))


def policy_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise PolicyError(
            f"Policy directory {directory} does not exist or is not a directory.",
            hint="A policy version is a directory of .yaml files; see docs/policy-language.md.",
        )
    files = sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml"))
    if not files:
        raise PolicyError(f"Policy directory {directory} holds no .yaml files.")
    return files


def load_policy(directory: Path | None = None) -> Policy:
    """Read and shape-check a policy directory (the packaged default when None)."""
    directory = Path(directory) if directory is not None else default_policy_path()
    files = policy_files(directory)
    digest = hashlib.sha256()
    meta: dict[str, Any] = {}
    sections: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    first_seen: dict[tuple[str, str], str] = {}
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        try:
            tree = read_yaml(path)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark else 0
            raise PolicyError(f"{path}:{line}: not valid YAML: {exc}") from None
        if tree is None:
            continue
        if not isinstance(tree, Located):
            raise PolicyError(f"{path}:1: a policy file is a mapping of sections.")
        for key, body in tree.items():
            where = f"{path}:{tree.line_of(key)}"
            if key == "policy":
                if meta:
                    raise PolicyError(f"{where}: the `policy` section appears twice.")
                meta = dict(body or {})
                continue
            if key not in SECTIONS:
                raise PolicyError(
                    f"{where}: unknown section {key!r}.",
                    hint="Sections are policy, " + ", ".join(SECTIONS) + ".",
                )
            if not isinstance(body, Located):
                raise PolicyError(f"{where}: section {key!r} maps ids to rules.")
            for rule_id, rule in body.items():
                rule_at = f"{path}:{body.line_of(rule_id)}"
                if (key, rule_id) in first_seen:
                    raise PolicyError(
                        f"{rule_at}: {key} id {rule_id!r} is already defined at "
                        f"{first_seen[(key, rule_id)]}."
                    )
                first_seen[(key, rule_id)] = rule_at
                if not isinstance(rule, Located):
                    raise PolicyError(f"{rule_at}: {key} {rule_id!r} must be a mapping.")
                # Rule ids name tables in compiled plans; action ids are only ever data.
                if not (
                    _ACTION_ID.match(str(rule_id))
                    if key == "actions"
                    else is_identifier(str(rule_id))
                ):
                    raise PolicyError(
                        f"{rule_at}: {key} id {rule_id!r} must be lower-case letters, digits"
                        + (" and dots or underscores" if key == "actions" else " and underscores")
                        + f", starting with a letter, at most {MAX_NAME} characters.",
                    )
                rule["id"] = rule_id
                rule.line = body.line_of(rule_id)  # a rule is where its id is written
                sections[key][rule_id] = rule
    if not meta.get("name") or not meta.get("version"):
        raise PolicyError(
            f"Policy directory {directory} has no `policy:` section with a name and a version.",
            hint="Add e.g. `policy: {name: city, version: '2026.1'}` to one of its files.",
        )
    parsed: dict[str, dict[str, Any]] = {}
    for key, model in SECTIONS.items():
        parsed[key] = {}
        for rule_id, rule in sections[key].items():
            try:
                parsed[key][rule_id] = model.model_validate(rule)
            except ValidationError as exc:
                err = exc.errors()[0]
                file, line = locate(rule, tuple(err["loc"]))
                field = ".".join(str(p) for p in err["loc"]) or "(rule)"
                raise PolicyError(
                    f"{file}:{line}: {key} {rule_id!r}: {field}: {err['msg']}.",
                    hint="docs/policy-language.md lists the fields each rule takes.",
                ) from None
    return Policy(
        name=str(meta["name"]),
        version=str(meta["version"]),
        description=str(meta.get("description", "")),
        directory=str(directory.resolve()),
        digest=digest.hexdigest()[:16],
        **parsed,
    )
