"""A partner sandbox's state: dataclasses kept as JSON, saved atomically, under a file lock.

:class:`JsonStateFile` keeps one dataclass in ``FOLDER/state.json`` and a lock
file ``FOLDER/lock`` that the server's loop and every command hold while they
read, change and save the state, so that they never race.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import types
import typing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class JsonStateFile(Generic[T]):
    """The state file of one dataclass ``cls`` in ``folder``, and its lock."""

    def __init__(self, folder: Path, cls: type[T]) -> None:
        self.folder = Path(folder)
        self.path = self.folder / "state.json"
        self._lock_path = self.folder / "lock"
        self._cls = cls

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the lock (blocking) shared by the server's loop and every command."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._lock_path.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def load(self, fresh: Callable[[], T]) -> T:
        """The saved state, or ``fresh()`` if none was saved."""
        if not self.path.exists():
            return fresh()
        return from_dict(self._cls, json.loads(self.path.read_text(encoding="utf-8")))

    def save(self, state: T) -> None:
        """Write the state to a temporary file, then rename it over the state file."""
        self.folder.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".json.tmp")
        document = dataclasses.asdict(state)  # type: ignore[call-overload]
        text = json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True)
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, self.path)


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """A dataclass from its :func:`dataclasses.asdict` form, nested dataclasses included."""
    hints = typing.get_type_hints(cls)
    values = {
        item.name: _value(hints[item.name], data[item.name])
        for item in dataclasses.fields(cls)  # type: ignore[arg-type]
        if item.name in data
    }
    return cls(**values)


def _value(hint: Any, raw: Any) -> Any:
    if raw is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _value(inner[0], raw)
    if origin is dict:
        _, value_hint = typing.get_args(hint)
        return {key: _value(value_hint, item) for key, item in raw.items()}
    if origin is list:
        (item_hint,) = typing.get_args(hint)
        return [_value(item_hint, item) for item in raw]
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, raw)  # type: ignore[arg-type]
    return raw
