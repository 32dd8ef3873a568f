"""Reading YAML files that people edit, keeping the line of every key.

Errors in a hand-edited file are best reported at the line to change, so the
file is composed into nodes once and every key path (``("prices", "policy")``,
``("products", 2)``) is mapped to its 1-based line. Duplicate keys, which
PyYAML would silently collapse to the last one, are recorded too. Files are
composed by libyaml when PyYAML has it (seven times faster on the settings of
1,000 products, which every DAG parse reads); a file libyaml refuses is composed
again in Python, whose messages name the character or alias at fault.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from reseller_sync.config.paths import shown_path
from reseller_sync.domain.errors import Problem

KeyPath = tuple[str | int, ...]

_NULL_SCALARS = frozenset({"", "~", "null", "Null", "NULL"})
_FAST_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlFileError(Exception):
    """The file cannot be read or is not valid YAML; ``problem`` says where."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


@dataclass(frozen=True)
class YamlDocument:
    path: Path
    root: yaml.Node | None
    lines: Mapping[KeyPath, int] = field(default_factory=dict)
    duplicates: tuple[tuple[KeyPath, int], ...] = ()
    """Keys written twice in one mapping, with the line of the second one."""

    @property
    def shown_path(self) -> str:
        return shown_path(self.path)

    def line_of(self, key_path: KeyPath) -> int | None:
        """The line of ``key_path``, or of its nearest ancestor that has one."""
        for length in range(len(key_path), 0, -1):
            if (line := self.lines.get(key_path[:length])) is not None:
                return line
        return None

    def typed_data(self) -> Any:
        """The content with YAML's usual types (bool, int, null...)."""
        if self.root is None:
            return None
        loader = yaml.SafeLoader("")
        try:
            return loader.construct_document(self.root)
        finally:
            loader.dispose()

    def text_data(self) -> Any:
        """The content with every scalar as the text written (``004512`` stays ``"004512"``).

        Only an empty value, ``~`` or ``null`` written without quotes reads as None.
        """
        return _as_text(self.root) if self.root is not None else None


def format_key_path(key_path: KeyPath) -> str:
    """``("products", 1, "tariffs")`` → ``products[1].tariffs``."""
    shown = ""
    for part in key_path:
        if isinstance(part, int):
            shown += f"[{part}]"
        else:
            shown += f".{part}" if shown else str(part)
    return shown


def read_yaml(path: Path) -> YamlDocument:
    """Compose ``path``; raise :class:`YamlFileError` when it is unreadable or not YAML."""
    shown = shown_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise YamlFileError(Problem(f"cannot read the file: {error}", file=shown)) from error
    try:
        root = _compose(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        reason = f"not valid YAML: {error.problem or error}"
        line = mark.line + 1 if mark is not None else None
        raise YamlFileError(Problem(reason, file=shown, line=line)) from error
    except yaml.YAMLError as error:
        raise YamlFileError(Problem(f"not valid YAML: {error}", file=shown)) from error
    lines: dict[KeyPath, int] = {}
    duplicates: list[tuple[KeyPath, int]] = []
    if root is not None:
        _index(root, (), lines, duplicates)
    return YamlDocument(path, root, lines, tuple(duplicates))


def _compose(text: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=_FAST_LOADER)
    except yaml.YAMLError:
        if _FAST_LOADER is yaml.SafeLoader:
            raise
    return yaml.compose(text, Loader=yaml.SafeLoader)


def _index(
    node: yaml.Node,
    key_path: KeyPath,
    lines: dict[KeyPath, int],
    duplicates: list[tuple[KeyPath, int]],
) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = (*key_path, key)
            if key in seen:
                duplicates.append((child, key_node.start_mark.line + 1))
            else:
                lines[child] = key_node.start_mark.line + 1
            seen.add(key)
            _index(value_node, child, lines, duplicates)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*key_path, index)
            lines[child] = item.start_mark.line + 1
            _index(item, child, lines, duplicates)


def _as_text(node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return {str(key.value): _as_text(value) for key, value in node.value}
    if isinstance(node, yaml.SequenceNode):
        return [_as_text(item) for item in node.value]
    assert isinstance(node, yaml.ScalarNode)
    plain = not node.style  # None from PyYAML's parser, "" from libyaml's
    if plain and node.value in _NULL_SCALARS:
        return None
    return str(node.value)
