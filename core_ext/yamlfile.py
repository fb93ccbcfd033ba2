"""The one YAML loader of the product's configuration files (sites, device profiles): line
numbers for every key path, duplicate keys refused, errors that say `file:line: key.path: what`.

    doc = read_yaml("site.yaml")        # or parse_yaml(text, "site.yaml")
    doc.data                            # plain dicts, lists and scalars (YAML safe types)
    doc.line_of(("zones", 2, "type"))   # 1-based line of that key, or of its nearest parent

Uses libyaml (PyYAML's C parser) when PyYAML was built with it, else the pure-Python parser; both
give the same data and marks.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def path_str(path: tuple[Any, ...]) -> str:
    """`zones[2].type` for ("zones", 2, "type"); `<root>` for ()."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


class YamlFault(ValueError):
    """The file could not be read, is not YAML, or repeats a key; `line` is 1-based (None: the file)."""

    def __init__(self, source: str, line: int | None, path: str, message: str) -> None:
        self.source, self.line, self.path, self.message = source, line, path, message
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {path}: {message}")


@dataclass(frozen=True)
class YamlDocument:
    source: str
    data: Any
    lines: Mapping[tuple[Any, ...], int]

    def line_of(self, path: tuple[Any, ...]) -> int | None:
        """Line of the node at `path`, else of its nearest parent that exists."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())


def parse_yaml(text: str, source: str = "<memory>") -> YamlDocument:
    loader = Loader(text)
    lines: dict[tuple[Any, ...], int] = {}
    try:
        root = loader.get_single_node()

        def build(node: yaml.Node, path: tuple[Any, ...]) -> Any:
            lines[path] = node.start_mark.line + 1
            if isinstance(node, yaml.MappingNode):
                loader.flatten_mapping(node)
                out: dict[Any, Any] = {}
                for key_node, value_node in node.value:
                    key = loader.construct_object(key_node, deep=True)
                    if key in out:
                        raise YamlFault(source, key_node.start_mark.line + 1, path_str(path + (key,)), "duplicate key")
                    out[key] = build(value_node, path + (key,))
                return out
            if isinstance(node, yaml.SequenceNode):
                return [build(item, path + (i,)) for i, item in enumerate(node.value)]
            return loader.construct_object(node, deep=True)

        data = build(root, ()) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise YamlFault(source, mark.line + 1 if mark else None, "<yaml>", f"{exc.problem or exc}") from None
    except yaml.YAMLError as exc:  # e.g. a reader error (bad bytes) without a mark
        raise YamlFault(source, None, "<yaml>", str(exc)) from None
    finally:
        loader.dispose()
    return YamlDocument(source, data, lines)


def read_yaml(path: str | os.PathLike[str]) -> YamlDocument:
    source = os.fspath(path)
    try:
        with open(source, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise YamlFault(source, None, "<file>", f"cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise YamlFault(source, None, "<file>", f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return parse_yaml(text, source)
