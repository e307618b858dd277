"""live(): run a scenario on real peer processes on loopback and get a Run back.

    run = live(Scenario.load("scenarios/live-16.toml"), seed=2, progress=True)

It runs ``kittengrad live`` (the same executable as the simulator's command line) in a
child process: the peers are processes of their own, stopped by the child at the end, on
errors and on Ctrl-C (and by the kernel if the child dies). The run file is the
simulator's layout with ``backend = "live"``, so ``Run`` reads it unchanged. The
executable is $KG_BINARY, else the build folder's beside this package
(``build/kittengrad`` for ``build/python/kittengrad``), else ``kittengrad`` on $PATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time

from .errors import ScenarioError, SimulationError
from .run import Run, load
from .scenario import as_scenario


def kittengrad_binary() -> str:
    """The kittengrad executable `live` runs, or SimulationError saying how to point at it."""
    env = os.environ.get("KG_BINARY")
    if env:
        return env
    beside = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), "kittengrad")
    if os.access(beside, os.X_OK):
        return beside
    found = shutil.which("kittengrad")
    if found:
        return found
    raise SimulationError("kittengrad live needs the kittengrad executable: build it "
                          "(make build) or set KG_BINARY=/path/to/kittengrad")


def _with_absolute_files(sc):
    """The scenario with its latency file as an absolute path: the child reads a copy of
    the scenario written in a temporary folder."""
    latency = sc["network.latency"]
    path = latency.get("file") if isinstance(latency, dict) else None
    if path and not os.path.isabs(path):
        latency = dict(latency, file=os.path.join(sc.base_dir, path))
        sc = sc.with_overrides({"network.latency": latency})
    return sc


def live(scenario, seed=None, progress=False, out=None, overrides=None, keep=None) -> Run:
    """Runs `scenario` (a Scenario or a scenario file path) on real peer processes.

    seed: sets run.seed (None keeps the scenario's). overrides: a dict of dotted keys
    applied first. progress: a progress bar (tqdm) on stderr over the run's wall time.
    out: where to keep the run file (None: a temporary file, removed once read). keep: a
    folder to keep the peers' configs, keys, databases and logs in.

    Raises ScenarioError for a refused scenario or override (or one a live run cannot
    take, such as too many peers), SimulationError when the run fails.
    """
    sc = as_scenario(scenario)
    if overrides:
        sc = sc.with_overrides(overrides)
    if seed is not None:
        sc = sc.with_overrides({"run.seed": int(seed)})
    sc = _with_absolute_files(sc)
    binary = kittengrad_binary()
    tmp_dir = tempfile.mkdtemp(prefix="kittengrad-live-")
    path = os.path.join(tmp_dir, "run.h5") if out is None else os.fspath(out)
    scenario_file = os.path.join(tmp_dir, "scenario.toml")
    with open(scenario_file, "w") as f:
        f.write(sc.to_toml())
    args = [binary, "live", scenario_file, "--out", path]
    if keep is not None:
        args += ["--keep", os.fspath(keep)]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=float(sc.duration_s), unit="s", desc=f"live, {sc.peers} peers",
                   bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s "
                              "[{elapsed}<{remaining}]")
    try:
        with tempfile.TemporaryFile(mode="w+") as err:
            child = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err, text=True)
            started = time.monotonic()
            try:
                while child.poll() is None:
                    time.sleep(0.5)
                    if bar is not None:
                        bar.n = min(time.monotonic() - started, bar.total)
                        bar.refresh()
            finally:
                if child.poll() is None:  # interrupted: the child stops its peers on SIGTERM
                    child.terminate()
                    try:
                        child.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        child.kill()
                        child.wait()
            err.seek(0)
            message = err.read().strip()
        status = child.returncode
        if status == 2:
            raise ScenarioError(message or "kittengrad live refused the scenario")
        if status != 0:
            tail = "\n".join(message.splitlines()[-20:])
            raise SimulationError(f"the live run failed (exit status {status})"
                                  + (f":\n{tail}" if tail else ""))
        run = load(path)
        if out is None:
            run.path = None
        return run
    finally:
        if bar is not None:
            bar.close()
        shutil.rmtree(tmp_dir, ignore_errors=True)
