"""YAML with positions: every mapping remembers its file and line, so that the loader and
``policy check`` can name where a rule was written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class Located(dict[str, Any]):
    """A mapping read from a policy file, with the file and line it started on."""

    file: str = "?"
    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class _Loader(yaml.SafeLoader):
    file_name = "?"


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> Located:
    loader.flatten_mapping(node)
    out = Located()
    out.file = loader.file_name
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        out[str(key)] = loader.construct_object(value_node, deep=True)
        out.key_lines[str(key)] = key_node.start_mark.line + 1
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: Path) -> Any:
    """Parse one file; a syntax error names its line."""
    # Positions name the file within its policy directory: "lists.yaml:12".
    loader_cls = type("_FileLoader", (_Loader,), {"file_name": path.name})
    text = path.read_text(encoding="utf-8")
    return yaml.load(text, Loader=loader_cls)  # a SafeLoader subclass: no arbitrary objects


def locate(tree: Any, loc: tuple[Any, ...]) -> tuple[str, int]:
    """The file and line of the deepest mapping on ``loc`` (a pydantic error location)."""
    file, line = getattr(tree, "file", "?"), getattr(tree, "line", 0)
    node = tree
    for part in loc:
        if isinstance(node, Located):
            file, line = node.file, node.line_of(str(part))
            node = node.get(str(part))
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
            if isinstance(node, Located):
                file, line = node.file, node.line
        else:
            break
    return file, line
