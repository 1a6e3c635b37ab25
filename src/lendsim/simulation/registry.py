"""Registries of named classes: strategies and shocks, looked up by the name a scenario gives.

A registry is also the list of allowed values of the parameter that names its classes, so the
scenario's validation accepts a class registered after lendsim was imported. The built-in
classes are registered by their own module, loaded the first time a registry is read.
"""

from __future__ import annotations

import importlib


class Registry:
    """Named classes of one kind.

    Args:
        kind: what the classes are (``"pricing"``, ``"shock"``, ...), for messages.
        builtins: module that registers the built-in classes of this kind.
    """

    def __init__(self, kind: str, builtins: str):
        self.kind = kind
        self._builtins = builtins
        self._classes: dict[str, type] = {}

    def _load(self) -> dict[str, type]:
        if self._builtins:  # once: the module registers its classes on import
            module, self._builtins = self._builtins, ""
            importlib.import_module(module)
        return self._classes

    def add(self, name: str, cls: type) -> None:
        if not name or not name.isidentifier():
            raise ValueError(f"{cls.__name__}.name = {name!r}: a registered {self.kind} needs "
                             "a name that is a Python identifier")
        self._classes[name] = cls

    def get(self, name: str) -> type:
        """The class registered as ``name``."""
        classes = self._load()
        if name not in classes:
            raise ValueError(f"{self.kind} {name!r}: registered: {', '.join(classes)}")
        return classes[name]

    def names(self) -> tuple[str, ...]:
        return tuple(self._load())

    def __iter__(self):
        return iter(self.names())

    def __contains__(self, name) -> bool:
        return name in self._load()

    def __len__(self) -> int:
        return len(self._load())

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self.names())})"


PRICING = Registry("pricing strategy", "lendsim.simulation.strategies")
FUNDING_SPLIT = Registry("funding-split strategy", "lendsim.simulation.strategies")
LINE_RULE = Registry("bank line rule", "lendsim.simulation.strategies")
SCORING = Registry("scoring model", "lendsim.simulation.scoring_models")
SHOCKS = Registry("shock", "lendsim.simulation.shocks")
