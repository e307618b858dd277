"""A run: the tables of one run file as pandas DataFrames, its summary, and its plots.

    run = kittengrad.load("churn-1k-seed1.h5")      # or what simulate() returns
    run.timeseries, run.lookups, run.ops, run.events  # DataFrames, columns of DESIGN.md
    run.final_peers, run.final_keys                   # end-of-run load per peer and key
    run.summary()["lookup_success"]
    fig = run.plot_replication()                      # a matplotlib Figure
    run.plot_lookup_latency_cdf("cdf.png")            # or straight to a file

The tables are read once, when the Run is made; the file is not kept open.
"""

from __future__ import annotations

import math
import os

from . import plots

# The summary keys of DESIGN.md, in its order; run files add more (writes, ...).
SUMMARY_KEYS = ("convergence_time_s", "lost_updates", "lookup_success", "lookup_p50_ms",
                "lookup_p99_ms", "mean_hops", "msgs_per_peer_s")


class Run:
    """One run's tables (see the module docstring)."""

    def __init__(self, tables: dict, path: str | None = None):
        self._tables = tables
        self.path = path
        self.timeseries = tables["timeseries"]
        self.lookups = tables["lookups"]
        self.ops = tables["ops"]
        self.events = tables["events"]
        self.final_peers = tables["final_peers"]
        self.final_keys = tables["final_keys"]
        self.overlay = tables["overlay"]
        self.overlay_in_degree = tables["overlay_in_degree"]
        self.attrs = dict(tables["attrs"])

    @property
    def scenario_toml(self) -> str:
        """The effective scenario the run used, as TOML text."""
        return str(self.attrs.get("scenario", ""))

    @property
    def seed(self):
        return self.attrs.get("seed")

    @property
    def backend(self):
        return self.attrs.get("backend")

    def summary(self) -> dict:
        """The run's figures: convergence_time_s (NaN: never converged), lost_updates,
        lookup_success, lookup_p50_ms, lookup_p99_ms, mean_hops, msgs_per_peer_s, and
        the others the run file holds (writes, write_success, under_replicated_keys, ...)."""
        s = dict(self._tables["summary"])
        for key in SUMMARY_KEYS:
            s.setdefault(key, math.nan)
        return s

    # Plots: each returns a matplotlib Figure, or with `out` the path it wrote. A plot with
    # nothing to show raises kittengrad.plots.SkipPlot saying why.

    def _end_s(self):
        return plots._end_time(self._tables)

    def plot_replication(self, out=None):
        """Under-replicated, divergent and lost over time, events strip, quiet phase."""
        return plots.plot_replication(self.timeseries, self.events, out, self.attrs,
                                      self._tables["summary"], self._end_s())

    def plot_peers(self, out=None):
        """Peers alive over time, with the churn and failure events."""
        return plots.plot_peers(self.timeseries, self.events, out, self.attrs, self._end_s())

    def plot_lookup_latency_cdf(self, out=None):
        return plots.plot_lookup_latency_cdf(self.lookups, out, self.attrs)

    def plot_hops(self, out=None):
        return plots.plot_hops(self.lookups, out, self.attrs)

    def plot_messages_by_kind(self, out=None):
        return plots.plot_messages_by_kind(self.timeseries, out, self.attrs)

    def plot_writes(self, out=None):
        return plots.plot_writes(self.ops, out, self.attrs)

    def plot_overlay_in_degree(self, out=None):
        return plots.plot_overlay_in_degree(self.overlay, self.overlay_in_degree, out,
                                            self.attrs)

    def write_plots(self, out_dir) -> list:
        """Every plot into out_dir (made if missing), as `kittengrad report` draws them;
        returns the paths written."""
        os.makedirs(out_dir, exist_ok=True)
        written, _ = plots.write_plots(self._tables, out_dir)
        return written

    def __repr__(self):
        s = self.summary()
        where = f" {self.path}" if self.path else ""
        return (f"<Run{where}: {self.backend}, seed {self.seed}, {len(self.lookups)} lookups "
                f"({s['lookup_success']:.2%} answered), {s['lost_updates']} lost updates>")


def load(path) -> Run:
    """A Run from an existing run file (written by `kittengrad sim`, `simulate` or a live
    run). Raises kittengrad.plots.RunFileError when the file is not a run file."""
    path = os.fspath(path)
    return Run(plots.read_run(path), path)
