"""kittengrad: run, load and analyse simulations of the kittengrad overlay from Python.

    import kittengrad as kg
    sc = kg.Scenario.load("scenarios/churn-1k.toml").with_overrides({"overlay.peers": 200})
    run = kg.simulate(sc, seed=1, progress=True)
    run = kg.live(kg.Scenario.load("scenarios/live-16.toml"))   # real peer processes
    run.timeseries, run.lookups, run.ops, run.events   # pandas DataFrames
    run.summary()                                       # convergence, losses, lookups, ...
    kg.load("run.h5")                                   # a Run from an existing file
    kg.sweep(sc, {"overlay.replication": [2, 3], "run.seed": [1, 2]})   # one row per point

Submodules: ``plots`` (the figures of ``kittengrad report``), ``core`` (ring ids, replica
sets, entries, the CRDT store, journals), ``durability`` (the Markov model of a key's
replicas, beside simulated loss).

Importing the package is cheap: names are loaded on first use, so ``python3 -m
kittengrad.plots`` needs neither the compiled module nor pandas until it draws.
"""

import importlib

__version__ = "0.3.0"

_EXPORTS = {
    "Scenario": "scenario",
    "simulate": "simulation",
    "live": "live",
    "Run": "run",
    "load": "run",
    "sweep": "sweeps",
    "grid_points": "sweeps",
    "ScenarioError": "errors",
    "SimulationError": "errors",
    "NativeModuleMissing": "errors",
}
_SUBMODULES = ("plots", "core", "durability")

__all__ = sorted([*_EXPORTS, *_SUBMODULES])


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module 'kittengrad' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return __all__
