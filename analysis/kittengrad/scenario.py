"""Scenarios: load a TOML file, override keys, read values, hand to ``simulate``.

    sc = Scenario.load("scenarios/churn-1k.toml")
    small = sc.with_overrides({"overlay.peers": 200, "run.duration_s": 600})
    small["overlay.peers"]          # 200
    print(small.to_toml())          # the effective scenario, every key

A Scenario is a value: overrides return a new one. Keys are the dotted keys of DESIGN.md
(``churn.median_session_s``, ``network.latency``, ``failure`` for the whole list of
[[failure]] tables); values are Python values (numbers, strings, booleans, lists, dicts).
Every refusal raises ``ScenarioError`` naming the key.
"""

from __future__ import annotations

import json
import math
import os
import tomllib
from collections.abc import Mapping

from ._native_loader import native
from .errors import ScenarioError


def toml_value(value) -> str:
    """`value` as a TOML literal (inline tables for dicts)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ScenarioError(f"{value!r}: scenario values must be finite numbers")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string: same escapes for these characters
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    if hasattr(value, "item"):  # numpy scalars (a sweep grid made with numpy)
        return toml_value(value.item())
    raise ScenarioError(f"{value!r}: cannot be written as a scenario value "
                        f"(type {type(value).__name__})")


class Scenario:
    """A validated scenario (see the module docstring)."""

    def __init__(self, native_scenario):
        self._sc = native_scenario

    @classmethod
    def load(cls, path) -> "Scenario":
        """Reads, parses and validates a scenario file; data files it names resolve
        against the file's folder."""
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path}: no such scenario file")
        return cls(_call(native().Scenario.load, path))

    @classmethod
    def parse(cls, text: str, base_dir: str = "", source: str = "") -> "Scenario":
        """Parses and validates TOML text; relative data paths resolve against base_dir."""
        return cls(_call(native().Scenario.parse, text, source, os.fspath(base_dir)))

    def with_overrides(self, overrides: Mapping) -> "Scenario":
        """A copy with every ``{"dotted.key": value}`` applied in order, then validated."""
        sc = self._sc
        for key, value in dict(overrides).items():
            if not isinstance(key, str) or not key:
                raise ScenarioError(f"{key!r}: override keys are dotted scenario keys")
            sc = _call(sc.with_override, f"{key}={toml_value(value)}")
        return Scenario(sc)

    def to_toml(self) -> str:
        """The effective scenario as TOML text, every key with its value."""
        return self._sc.to_toml()

    def to_dict(self) -> dict:
        """The effective scenario as nested dicts (tables) and lists ([[failure]])."""
        return tomllib.loads(self.to_toml())

    def __getitem__(self, dotted_key: str):
        node = self.to_dict()
        for part in dotted_key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise KeyError(dotted_key)
            node = node[part]
        return node

    @property
    def peers(self) -> int:
        return self._sc.peers

    @property
    def seed(self) -> int:
        return self._sc.seed

    @property
    def duration_s(self) -> float:
        return self._sc.duration_s

    @property
    def source(self) -> str:
        """The file the scenario was loaded from ("" for text)."""
        return self._sc.source

    @property
    def base_dir(self) -> str:
        return self._sc.base_dir

    def __reduce__(self):
        return (Scenario.parse, (self.to_toml(), self.base_dir, self.source))

    def __eq__(self, other):
        return isinstance(other, Scenario) and self.to_toml() == other.to_toml()

    def __repr__(self):
        where = f" from {self.source}" if self.source else ""
        return (f"<Scenario{where}: {self.peers} peers, {self.duration_s:g} s, "
                f"seed {self.seed}>")

    @property
    def native(self):
        """The compiled scenario (for kittengrad's own use)."""
        return self._sc


def _call(fn, *args):
    """Calls into the compiled module, turning its ScenarioError into ours."""
    try:
        return fn(*args)
    except native().ScenarioError as e:
        raise ScenarioError(str(e)) from None


def as_scenario(scenario) -> Scenario:
    """A Scenario from a Scenario or a path."""
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, (str, os.PathLike)):
        return Scenario.load(scenario)
    raise TypeError(f"expected a Scenario or a scenario file path, got {type(scenario).__name__}")
