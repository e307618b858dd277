"""sweep(): run the Cartesian product of a parameter grid and tabulate the summaries.

    df = sweep(sc, {"churn.median_session_s": [600, 1800, 3600], "run.seed": [1, 2]})

One row per grid point, in grid order: the grid values (columns named by their dotted
keys) followed by the run's summary (Run.summary()), the columns of `measure(run)` if
given, and `wall_s`. Every point runs in its
own local process (a child, as simulate() does); the points run `max_workers` at a time
(default: one per core). Any concurrent.futures executor may run them instead: on a Dask
cluster, ``executor=distributed.Client(...).get_executor()``; the workers need the
kittengrad package importable (same PYTHONPATH or venv).
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed

from .errors import ScenarioError
from .scenario import Scenario, as_scenario


def grid_points(grid: Mapping) -> list[dict]:
    """The Cartesian product of the grid, as dicts of dotted key -> value, in order (the
    last key varies fastest)."""
    keys = list(grid)
    for k in keys:
        values = grid[k]
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise ScenarioError(f"{k}: a grid maps each dotted key to a list of values")
    return [dict(zip(keys, combo)) for combo in itertools.product(*(list(grid[k]) for k in keys))]


def run_point(toml: str, base_dir: str, source: str, point: dict, measure=None,
              backend: str = "sim") -> dict:
    """Runs one grid point and returns its row (importable by worker processes)."""
    from .live import live
    from .simulation import simulate

    started = time.monotonic()
    sc = Scenario.parse(toml, base_dir, source).with_overrides(point)
    run = live(sc) if backend == "live" else simulate(sc)
    extra = measure(run) if measure is not None else {}
    return {**point, **run.summary(), **extra, "wall_s": time.monotonic() - started}


def sweep(scenario, grid: Mapping, executor=None, progress=True, max_workers=None,
          measure=None, backend="sim"):
    """Runs every point of `grid` on `scenario` and returns a pandas DataFrame, one row
    per point (see the module docstring). Every point is checked before any runs: a bad
    key or value raises ScenarioError naming it.

    measure: an optional function of a Run returning a dict of more columns for its row
    (a module-level function, so that worker processes can receive it).

    backend: "sim" (the default) or "live": real peer processes on this machine, so the
    points run one after another (an executor given for a live sweep is refused: two live
    runs at once would measure each other)."""
    import pandas as pd

    if backend not in ("sim", "live"):
        raise ScenarioError(f'backend = "{backend}": expected "sim" or "live"')
    if backend == "live":
        if executor is not None:
            raise ScenarioError("a live sweep runs its points one after another: leave executor out")
        max_workers = 1
    sc = as_scenario(scenario)
    points = grid_points(grid)
    for p in points:
        sc.with_overrides(p)  # fail fast, before hours of runs
    toml, base_dir, source = sc.to_toml(), sc.base_dir, sc.source
    own = executor is None
    if own:
        # The simulations are child processes; threads only wait for them.
        executor = ThreadPoolExecutor(max_workers=max_workers or os.cpu_count() or 1)
    rows = [None] * len(points)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(points), unit="run", desc="sweep")
    try:
        futures = {executor.submit(run_point, toml, base_dir, source, p, measure, backend): i
                   for i, p in enumerate(points)}
        for f in as_completed(futures):
            rows[futures[f]] = f.result()
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
        if own:
            executor.shutdown(wait=True, cancel_futures=True)
    return pd.DataFrame(rows)
