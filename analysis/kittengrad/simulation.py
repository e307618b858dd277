"""simulate(): run a scenario in SimGrid from Python and get a Run back.

    run = simulate(Scenario.load("scenarios/churn-1k.toml"), seed=3, progress=True)

Each simulation runs in a child process (``python3 -m kittengrad._child``): SimGrid allows
one engine per process, and a child also keeps a crash or a Ctrl-C away from the caller's
interpreter. The run file goes to `out`, or to a temporary file that is read and removed.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

from .errors import ScenarioError, SimulationError
from .run import Run, load
from .scenario import as_scenario

VERSION = "0.3.0"


def simulate(scenario, seed=None, progress=False, out=None, overrides=None,
             audit=False) -> Run:
    """Runs `scenario` (a Scenario or a scenario file path) in the simulator.

    seed: sets run.seed (None keeps the scenario's). overrides: a dict of dotted keys
    applied first. progress: a progress bar (tqdm) on stderr. out: where to keep the run
    file (None: a temporary file, removed once read). audit: recount every metric from
    scratch at each sample and fail on any difference (slow; for tests).

    Raises ScenarioError for a refused scenario or override, SimulationError when the
    simulator fails.
    """
    sc = as_scenario(scenario)
    if overrides:
        sc = sc.with_overrides(overrides)
    if seed is not None:
        sc = sc.with_overrides({"run.seed": int(seed)})
    tmp_dir = None
    if out is None:
        tmp_dir = tempfile.mkdtemp(prefix="kittengrad-")
        path = os.path.join(tmp_dir, "run.h5")
    else:
        path = os.fspath(out)
    try:
        _run_child(sc, path, progress, audit)
        run = load(path)
        if tmp_dir is not None:
            run.path = None
        return run
    finally:
        if tmp_dir is not None:
            shutil.rmtree(tmp_dir, ignore_errors=True)


def _package_parent() -> str:
    """The folder holding the kittengrad package: the child must import the same one."""
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run_child(sc, path, progress, audit) -> dict:
    request = {"toml": sc.to_toml(), "base_dir": sc.base_dir, "source": sc.source,
               "out": path, "progress": bool(progress), "audit": bool(audit),
               "version": VERSION}
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (_package_parent(), env.get("PYTHONPATH", "")) if p)
    bar = _progress_bar(sc) if progress else None
    summary = None
    with tempfile.TemporaryFile(mode="w+") as err:
        child = subprocess.Popen([sys.executable, "-m", "kittengrad._child"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                                 text=True, env=env)
        try:
            child.stdin.write(json.dumps(request))
            child.stdin.close()
            for line in child.stdout:
                kind, _, rest = line.rstrip("\n").partition(" ")
                if kind == "progress" and bar is not None:
                    bar.n = min(float(rest.split()[0]), bar.total)
                    bar.refresh()
                elif kind == "summary":
                    summary = json.loads(rest)
            status = child.wait()
        finally:
            if child.poll() is None:  # interrupted: do not leave the child running
                child.kill()
                child.wait()
            if bar is not None:
                bar.close()
        err.seek(0)
        message = err.read().strip()
    if status == 2:
        raise ScenarioError(message or "the simulator refused the scenario")
    if status != 0 or summary is None:
        tail = "\n".join(message.splitlines()[-20:])
        raise SimulationError(f"the simulation failed (exit status {status})"
                              + (f":\n{tail}" if tail else ""))
    return {k: (math.nan if v is None else v) for k, v in summary.items()}


def _progress_bar(sc):
    from tqdm import tqdm

    return tqdm(total=float(sc.duration_s), unit="sim s", desc=f"{sc.peers} peers",
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} sim s "
                           "[{elapsed}<{remaining}]")
