"""Plots of one kittengrad run file: what ``kittengrad report RUN.h5 --out DIR`` draws.

Usage::

    python3 -m kittengrad.plots RUN.h5 OUTDIR

writes PNG files into OUTDIR (made if missing), prints the path of each file it wrote on
stdout, one per line and nothing else, and exits 0. Notes (a plot skipped because its table
is empty, ...) go to stderr. A file that is not a readable run file exits 2 with a message
on stderr; a bug in one plot is reported on stderr, the other plots are still drawn, and
the exit status is 1.

The module has a small reusable core:

- ``read_run(path)`` reads a run file (DESIGN.md, "Run file (HDF5)") into a dict of pandas
  DataFrames, one per table, plus the root attributes and the summary; the ``kittengrad``
  package builds its ``Run`` on it;
- one ``plot_*`` function per figure, taking DataFrames (and the run attributes where
  they need them) and an output path. Each returns the path it wrote (or, with the path
  None, the matplotlib Figure), or raises ``SkipPlot`` with the reason when its data is
  empty. ``kittengrad.Run``'s ``plot_*`` methods call them.

Drawing stays fast on large runs: each CDF sorts its data once and draws at most a few
thousand points; histograms are computed with numpy, not by matplotlib from raw rows.
matplotlib is imported on first use (the command line selects the Agg backend), so
``read_run`` alone does not pull it in.
"""

from __future__ import annotations

import math
import os
import sys
import traceback

import numpy as np
import pandas as pd

__all__ = [
    "RunFileError",
    "SkipPlot",
    "read_run",
    "plot_replication",
    "plot_peers",
    "plot_lookup_latency_cdf",
    "plot_hops",
    "plot_messages_by_kind",
    "plot_writes",
    "plot_overlay_in_degree",
    "write_plots",
    "main",
]

DPI = 110
CDF_POINTS_MAX = 3000         # points drawn per CDF line, whatever the row count
EVENT_MARKS_PER_KIND_MAX = 20000  # event marks drawn per kind on a timeline
EVENT_MARKERS_DENSE = 200     # above this many events a kind is drawn as thin ticks

# Tables of the run file, by DataFrame name and HDF5 group path.
TABLES = {
    "timeseries": "timeseries",
    "lookups": "lookups",
    "ops": "ops",
    "events": "events",
    "final_peers": "final/peers",
    "final_keys": "final/keys",
    "overlay": "overlay",
    "overlay_in_degree": "overlay_in_degree",
}

# How each event kind is drawn: (colour, marker, label).
EVENT_STYLE = {
    "crash": ("tab:red", "x", "crash"),
    "recover": ("tab:green", "^", "recover"),
    "leave": ("tab:orange", "v", "leave (graceful)"),
    "join": ("tab:blue", "^", "join"),
    "depart": ("tab:purple", "v", "depart (permanent)"),
    "partition": ("tab:brown", "s", "partition"),
    "heal": ("tab:brown", "D", "heal"),
    "loss": ("tab:gray", "o", "loss burst"),
}
PARTITION_COLOUR = "tab:brown"
LOSS_COLOUR = "tab:gray"
QUIET_COLOUR = "tab:green"


class RunFileError(Exception):
    """The file is not a readable kittengrad run file; the message says why."""


class SkipPlot(Exception):
    """A plot has nothing to show (an empty table, say); the message says why."""


# --------------------------------------------------------------------------- reading


def _decode(value):
    """An HDF5 attribute as a plain Python value: bytes decoded, numpy scalars unwrapped."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "SO":
            return [_decode(v) for v in value.tolist()]
        return value.tolist() if value.ndim else value.item()
    return value


def _read_column(dataset, h5py):
    """One column of a table as a 1-D numpy array; strings come back as str objects."""
    if dataset.ndim != 1:
        raise RunFileError(f"{dataset.name} has shape {dataset.shape}; columns must be 1-D")
    if h5py.check_string_dtype(dataset.dtype) is not None:
        return dataset.asstr(errors="replace")[()]
    values = dataset[()]
    if values.dtype.kind == "S":  # fixed-length strings of another writer
        return np.array([v.decode("utf-8", errors="replace") for v in values], dtype=object)
    if values.dtype.kind not in "biuf":
        raise RunFileError(f"{dataset.name} has type {values.dtype}; expected numbers or text")
    return values


def _read_table(group, h5py):
    columns = {}
    for name, item in group.items():
        if isinstance(item, h5py.Dataset):
            columns[name] = _read_column(item, h5py)
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{name}={n}" for name, n in sorted(lengths.items()))
        raise RunFileError(f"columns of {group.name} differ in length ({detail})")
    return pd.DataFrame(columns)


def read_run(path):
    """Reads the run file at `path`.

    Returns a dict with one pandas DataFrame per table (keys of TABLES; a table missing
    from the file is an empty DataFrame), "attrs" (the root attributes, strings decoded)
    and "summary" (the attributes of /summary). Raises RunFileError when the file cannot
    be opened as HDF5 or holds none of the run-file tables.
    """
    import h5py

    if not os.path.exists(path):
        raise RunFileError(f"{path}: no such file")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise RunFileError(f"{path}: not an HDF5 file ({e})") from None
    try:
        with f:
            return _read_open_run(f, path, h5py)
    except OSError as e:  # a damaged dataset, say
        raise RunFileError(f"{path}: cannot read ({e})") from None


def _read_open_run(f, path, h5py):
    """read_run on an open file."""
    if not any(group in f for group in TABLES.values()) and "summary" not in f:
        raise RunFileError(
            f"{path}: not a kittengrad run file (none of /timeseries, /lookups, /ops, "
            "/events, /final, /overlay is there)"
        )
    run = {"attrs": {k: _decode(v) for k, v in f.attrs.items()}}
    for key, group_path in TABLES.items():
        group = f.get(group_path)
        if group is None:
            run[key] = pd.DataFrame()
        elif not isinstance(group, h5py.Group):
            raise RunFileError(f"{path}: /{group_path} should be a group of columns")
        else:
            try:
                run[key] = _read_table(group, h5py)
            except RunFileError as e:
                raise RunFileError(f"{path}: {e}") from None
    summary = f.get("summary")
    run["summary"] = {} if summary is None else {
        k: _decode(v) for k, v in summary.attrs.items()
    }
    return run


# --------------------------------------------------------------------------- helpers


def _pyplot():
    # The backend is left to matplotlib (a notebook's inline one, or Agg on a machine
    # without a display); the command line picks Agg itself (main).
    import matplotlib.pyplot as plt

    return plt


def _save(fig, out_path):
    """Writes and closes `fig` and returns out_path; with out_path None, returns the
    figure itself (to show in a notebook or save later)."""
    if out_path is None:
        return fig
    fig.savefig(out_path, dpi=DPI)
    _pyplot().close(fig)
    return out_path


def _require(df, columns, what):
    """Raises SkipPlot unless `df` has rows and every column in `columns`."""
    if df is None or len(df) == 0:
        raise SkipPlot(f"{what}: the table is empty")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SkipPlot(f"{what}: the table lacks column(s) {', '.join(missing)}")


def _run_label(attrs):
    """A short description of the run for titles: "sim, 1000 peers, seed 1"."""
    parts = []
    if attrs.get("backend"):
        parts.append(str(attrs["backend"]))
    if attrs.get("peers") is not None:
        parts.append(f"{attrs['peers']} peers")
    if attrs.get("seed") is not None:
        parts.append(f"seed {attrs['seed']}")
    return ", ".join(parts)


def _title(ax, text, attrs):
    label = _run_label(attrs or {})
    ax.set_title(f"{text}\n{label}" if label else text, fontsize=11)


def _as_bool(series):
    """0/1 integers or booleans as a boolean numpy array."""
    return np.asarray(series).astype(bool)


def _latencies_ms(t_start, t_end):
    """Finite, non-negative latencies in milliseconds, sorted."""
    ms = (np.asarray(t_end, dtype=float) - np.asarray(t_start, dtype=float)) * 1000.0
    ms = ms[np.isfinite(ms) & (ms >= 0)]
    ms.sort()
    return ms


def _cdf_points(sorted_values):
    """(x, y) of the empirical CDF of already sorted values, thinned for drawing.

    Keeps evenly spaced ranks plus ranks packed towards the top, so that the tail (p99 and
    beyond) stays exact even when a million values are drawn with a few thousand points.
    """
    n = len(sorted_values)
    if n <= CDF_POINTS_MAX:
        ranks = np.arange(n)
    else:
        even = np.linspace(0, n - 1, CDF_POINTS_MAX // 2)
        tail = (n - 1) - np.geomspace(1, n, CDF_POINTS_MAX // 2) + 1
        ranks = np.unique(np.concatenate([even, tail, [0, n - 1]]).round().astype(np.int64))
        ranks = ranks[(ranks >= 0) & (ranks < n)]
    return sorted_values[ranks], (ranks + 1) / n


def _wide_spread(sorted_values):
    """True when the values span enough orders of magnitude to want a log axis."""
    positive = sorted_values[sorted_values > 0]
    if len(positive) < 2:
        return False
    low = positive[int(0.01 * (len(positive) - 1))]
    return positive[-1] / low > 30


def _end_time(run):
    """The last simulated time of the run, in seconds."""
    ts = run.get("timeseries")
    candidates = []
    if ts is not None and "t_s" in ts and len(ts):
        candidates.append(float(np.nanmax(ts["t_s"])))
    duration = (run.get("attrs") or {}).get("duration_s")
    if isinstance(duration, (int, float)) and math.isfinite(duration) and duration > 0:
        candidates.append(float(duration))
    return max(candidates) if candidates else None


def _loss_durations(attrs):
    """[(at_s, duration_s)] of the scripted loss bursts in the scenario text, if any."""
    text = (attrs or {}).get("scenario")
    if not isinstance(text, str) or not text.strip():
        return []
    try:
        import tomllib

        scenario = tomllib.loads(text)
    except Exception:  # an unreadable scenario text only costs us the loss spans
        return []
    bursts = []
    for failure in scenario.get("failure", []) or []:
        if isinstance(failure, dict) and failure.get("kind") == "loss":
            try:
                bursts.append((float(failure.get("at_s", 0)), float(failure.get("duration_s", 0))))
            except (TypeError, ValueError):
                pass
    return bursts


def event_spans(events, attrs, end_s):
    """Time spans of the events that last: partitions (until the next heal) and loss bursts.

    Returns a list of (kind, start_s, end_s, ended), kind "partition" or "loss". A
    partition never healed lasts to `end_s` and has ended False; a loss burst lasts as
    long as the scenario's [[failure]] entry at the same time says (zero when the scenario
    text does not say).
    """
    if events is None or len(events) == 0 or "kind" not in events or "t_s" not in events:
        return []
    ordered = events.sort_values("t_s", kind="stable")
    spans = []
    open_partition = None
    bursts = _loss_durations(attrs)
    for t, kind in zip(ordered["t_s"].to_numpy(dtype=float), ordered["kind"].astype(str)):
        if kind == "partition" and open_partition is None:
            open_partition = t
        elif kind == "heal" and open_partition is not None:
            spans.append(("partition", open_partition, t, True))
            open_partition = None
        elif kind == "loss":
            duration = 0.0
            if bursts:
                at, d = min(bursts, key=lambda b: abs(b[0] - t))
                if abs(at - t) <= max(1.0, 1e-6 * abs(t)):
                    duration = d
            spans.append(("loss", t, t + duration, True))
    if open_partition is not None:
        end = end_s if end_s is not None and end_s > open_partition else open_partition
        spans.append(("partition", open_partition, end, False))
    return spans


def quiet_start(events, spans):
    """The time after which nothing is perturbed any more, or None.

    That is the last event, or the end of the last loss burst if later. None when a
    partition is never healed (the run is never quiet) and when there are no events at
    all (the whole run was quiet; nothing to mark).
    """
    if events is None or len(events) == 0 or "t_s" not in events:
        return None
    if any(not ended for _, _, _, ended in spans):
        return None
    last = float(np.nanmax(events["t_s"].to_numpy(dtype=float)))
    for _, _, end, _ in spans:
        last = max(last, end)
    return last


def _shade_spans(ax, spans, labelled):
    """Shades partitions and loss bursts; labels each kind once if `labelled`."""
    seen = set()
    for kind, start, end, _ in spans:
        if end <= start:
            ax.axvline(start, color=LOSS_COLOUR if kind == "loss" else PARTITION_COLOUR,
                       alpha=0.5, lw=1)
            continue
        colour = PARTITION_COLOUR if kind == "partition" else LOSS_COLOUR
        label = None
        if labelled and kind not in seen:
            label = "partitioned" if kind == "partition" else "loss burst"
            seen.add(kind)
        ax.axvspan(start, end, color=colour, alpha=0.15, lw=0, label=label)


def _shade_quiet(ax, start, end, labelled):
    if start is None or end is None or end <= start:
        return
    ax.axvspan(start, end, color=QUIET_COLOUR, alpha=0.08, lw=0,
               label="quiet phase (no events)" if labelled else None)


def _thin(times, limit):
    """At most `limit` of the sorted `times`, evenly spread; and the stride used."""
    if len(times) <= limit:
        return times, 1
    stride = int(math.ceil(len(times) / limit))
    return times[::stride], stride


def _event_kinds(events):
    """Event kinds present in `events`, in drawing order; [] for no events."""
    if events is None or len(events) == 0 or "kind" not in events or "t_s" not in events:
        return []
    return _ordered_kinds(events["kind"].astype(str))


def _event_timeline(ax, events, kinds, spans):
    """Draws the events as a timeline strip: one row per kind, labelled with its count.

    Sparse kinds (scripted failures) get their own marker; dense ones (churn, hundreds
    of events) a thin tick each, drawn translucent so that density reads as shade.
    """
    kind_column = events["kind"].astype(str)
    counts = kind_column.value_counts()
    for row, kind in enumerate(kinds):
        times = np.sort(events.loc[kind_column == kind, "t_s"].to_numpy(dtype=float))
        shown, _ = _thin(times, EVENT_MARKS_PER_KIND_MAX)
        colour, marker, _ = EVENT_STYLE.get(kind, ("black", ".", kind))
        if len(times) > EVENT_MARKERS_DENSE:
            ax.plot(shown, np.full(len(shown), row), linestyle="none", marker="|",
                    color=colour, markersize=10, alpha=0.15)
        else:
            ax.plot(shown, np.full(len(shown), row), linestyle="none", marker=marker,
                    color=colour, markersize=6, alpha=0.8)
    _shade_spans(ax, spans, False)
    ax.set_yticks(range(len(kinds)))
    ax.set_yticklabels([f"{k} ({counts[k]})" for k in kinds], fontsize=8)
    ax.set_ylim(-0.7, len(kinds) - 0.3)
    ax.invert_yaxis()
    ax.set_ylabel("events")
    ax.grid(axis="x", alpha=0.3)


def _panels(plt, heights, kinds, width):
    """A figure of panels sharing the time axis, plus an event strip when there are
    events; returns (fig, panel axes, strip axes or None)."""
    ratios = list(heights) + ([max(0.6, 0.17 * len(kinds))] if kinds else [])
    fig, axes = plt.subplots(len(ratios), 1, sharex=True, squeeze=False,
                             figsize=(width, 1.2 + 1.5 * sum(ratios)),
                             gridspec_kw={"height_ratios": ratios})
    axes = list(axes[:, 0])
    strip = axes.pop() if kinds else None
    return fig, axes, strip


def _ordered_kinds(kinds):
    """Event kinds present, in the order of EVENT_STYLE, unknown ones after."""
    present = set(kinds)
    known = [k for k in EVENT_STYLE if k in present]
    return known + sorted(present - set(known))


def _series(ts, metric):
    """The timeseries columns of one metric: [metric] or its per-namespace columns."""
    if metric in ts.columns:
        return [(metric, metric)]
    prefix = metric + "_"
    return [(c, c[len(prefix):]) for c in ts.columns if c.startswith(prefix)]


# --------------------------------------------------------------------------- plots


def plot_replication(timeseries, events, out_path, attrs=None, summary=None, end_s=None):
    """(1) Under-replicated keys, divergent keys and lost updates against simulated time,
    with events marked on the time axis, partitions and loss bursts shaded, and the quiet
    phase after the last event shaded."""
    _require(timeseries, ["t_s"], "replication health")
    curves = {m: _series(timeseries, m)
              for m in ("under_replicated_keys", "divergent_keys", "lost_updates")}
    if not any(curves.values()):
        raise SkipPlot("replication health: /timeseries has no under_replicated_keys, "
                       "divergent_keys or lost_updates column")
    plt = _pyplot()
    t = timeseries["t_s"].to_numpy(dtype=float)
    end_s = end_s if end_s is not None else float(np.nanmax(t))
    spans = event_spans(events, attrs, end_s)
    quiet = quiet_start(events, spans)

    kinds = _event_kinds(events)
    fig, (ax_keys, ax_lost), ax_events = _panels(plt, [2.2, 1.2], kinds, 11)
    # Divergent keys are mostly also under-replicated: dashed, so both lines show.
    styles = {"under_replicated_keys": ("tab:orange", "-", "under-replicated keys"),
              "divergent_keys": ("tab:purple", "--", "divergent keys"),
              "lost_updates": ("tab:red", "-", "lost updates")}
    for metric, ax in (("under_replicated_keys", ax_keys), ("divergent_keys", ax_keys),
                       ("lost_updates", ax_lost)):
        colour, style, label = styles[metric]
        for i, (column, suffix) in enumerate(curves[metric]):
            name = label if suffix == metric else f"{label} [{suffix}]"
            ax.plot(t, timeseries[column].to_numpy(dtype=float), drawstyle="steps-post",
                    color=colour if i == 0 else None, ls=style, lw=1.5, label=name)
    for ax, labelled in ((ax_keys, True), (ax_lost, False)):
        _shade_spans(ax, spans, labelled)
        _shade_quiet(ax, quiet, end_s, labelled)
        ax.set_ylim(0, max(1.0, ax.get_ylim()[1]))  # all-zero counts: 0..1, not 0..0.05
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
    ax_keys.set_ylabel("keys")
    ax_lost.set_ylabel("updates")
    if ax_events is not None:
        _event_timeline(ax_events, events, kinds, spans)
        _shade_quiet(ax_events, quiet, end_s, False)
    (ax_events or ax_lost).set_xlabel("simulated time (s)")
    _title(ax_keys, "Replication health over time", attrs)
    if summary and "convergence_time_s" in summary:
        c = summary["convergence_time_s"]
        text = ("never converged after the last perturbation"
                if not isinstance(c, (int, float)) or not math.isfinite(c)
                else f"converged {c:.1f} s after the last perturbation")
        ax_keys.text(0.99, 0.97, text, transform=ax_keys.transAxes, ha="right", va="top",
                     fontsize=9, bbox={"facecolor": "white", "alpha": 0.8, "lw": 0})
    for ax in (ax_keys, ax_lost):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.tight_layout()
    return _save(fig, out_path)


def plot_peers(timeseries, events, out_path, attrs=None, end_s=None):
    """(2) Peers alive over time, above a timeline of churn and failure events (one row
    per kind), with partitions and loss bursts shaded on both."""
    _require(timeseries, ["t_s", "peers_alive"], "peers alive")
    plt = _pyplot()
    t = timeseries["t_s"].to_numpy(dtype=float)
    end_s = end_s if end_s is not None else float(np.nanmax(t))
    spans = event_spans(events, attrs, end_s)
    kinds = _event_kinds(events)
    fig, (ax,), ax_events = _panels(plt, [2.5], kinds, 9)
    ax.plot(t, timeseries["peers_alive"].to_numpy(dtype=float), drawstyle="steps-post",
            color="tab:blue", lw=1.5, label="peers alive")
    _shade_spans(ax, spans, True)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel("peers alive")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    _title(ax, "Peers alive and churn events", attrs)
    if ax_events is not None:
        _event_timeline(ax_events, events, kinds, spans)
    (ax_events or ax).set_xlabel("simulated time (s)")
    fig.tight_layout()
    return _save(fig, out_path)


def plot_lookup_latency_cdf(lookups, out_path, attrs=None):
    """(3) CDF of the latency of the lookups that got an answer, in ms, p50 and p99 marked;
    log x when the latencies span more than a factor of 30."""
    _require(lookups, ["t_issue_s", "t_done_s", "ok"], "lookup latency")
    ok = _as_bool(lookups["ok"])
    ms = _latencies_ms(lookups["t_issue_s"].to_numpy()[ok], lookups["t_done_s"].to_numpy()[ok])
    if len(ms) == 0:
        raise SkipPlot(f"lookup latency: none of the {len(lookups)} lookups succeeded")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    x, y = _cdf_points(ms)
    ax.plot(x, y, drawstyle="steps-post", color="tab:blue", lw=1.5,
            label=f"ok lookups ({len(ms)} of {len(lookups)})")
    for q, colour in ((50, "tab:green"), (99, "tab:red")):
        value = float(np.percentile(ms, q))
        ax.axvline(value, color=colour, ls="--", lw=1, label=f"p{q} = {value:.1f} ms")
    if _wide_spread(ms):
        ax.set_xscale("log")
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("lookup latency (ms)")
    ax.set_ylabel("fraction of ok lookups")
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="lower right", fontsize=9)
    _title(ax, "Lookup latency CDF", attrs)
    fig.tight_layout()
    return _save(fig, out_path)


def plot_hops(lookups, out_path, attrs=None):
    """(4) Histogram of routing hops per lookup (integer bins), the mean marked. Counts the
    ok lookups, or every lookup with a hop count when none was ok."""
    _require(lookups, ["hops"], "hop histogram")
    hops = lookups["hops"].to_numpy(dtype=float)
    which = "ok lookups"
    if "ok" in lookups.columns and _as_bool(lookups["ok"]).any():
        hops = hops[_as_bool(lookups["ok"])]
    else:
        which = "all lookups"
    hops = hops[np.isfinite(hops) & (hops >= 0)].astype(np.int64)
    if len(hops) == 0:
        raise SkipPlot("hop histogram: no lookup has a hop count")
    plt = _pyplot()
    counts = np.bincount(hops)
    fig, ax = plt.subplots(figsize=(8, 5))
    ax.bar(np.arange(len(counts)), counts, width=0.85, color="tab:blue",
           label=f"{which} ({len(hops)})")
    mean = float(hops.mean())
    ax.axvline(mean, color="tab:red", ls="--", lw=1.5, label=f"mean = {mean:.2f} hops")
    ax.set_xlabel("hops per lookup")
    ax.set_ylabel("lookups")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=9)
    _title(ax, "Routing hops per lookup", attrs)
    fig.tight_layout()
    return _save(fig, out_path)


def message_kinds(timeseries):
    """Message kinds with msgs_<kind> or bytes_<kind> columns, minus the totals."""
    kinds = set()
    for column in timeseries.columns:
        for prefix in ("msgs_", "bytes_"):
            if column.startswith(prefix) and column != prefix + "sent":
                kinds.add(column[len(prefix):])
    return sorted(kinds)


def _peer_seconds(timeseries, attrs):
    """Peer-seconds the run lasted: mean peers alive times the run's duration."""
    t = timeseries["t_s"].to_numpy(dtype=float)
    duration = (attrs or {}).get("duration_s")
    if not isinstance(duration, (int, float)) or not math.isfinite(duration) or duration <= 0:
        step = float(np.median(np.diff(t))) if len(t) > 1 else 0.0
        duration = float(t[-1] - t[0]) + step if len(t) else 0.0
        if duration <= 0 and len(t):
            duration = float(t[-1])
    alive = timeseries["peers_alive"].to_numpy(dtype=float) if "peers_alive" in timeseries else None
    peers = float(np.nanmean(alive)) if alive is not None and len(alive) else None
    if not peers or not math.isfinite(peers):
        peers = (attrs or {}).get("peers")
    if not duration or not peers:
        return None
    return float(duration) * float(peers)


def plot_messages_by_kind(timeseries, out_path, attrs=None):
    """(5) Messages and bytes per peer per second by message kind: two panels of
    horizontal bars, rows sorted by message volume, log scale when the volumes span more
    than three orders of magnitude. Kinds that sent nothing are left out (and counted)."""
    _require(timeseries, ["t_s"], "messages by kind")
    kinds = message_kinds(timeseries)
    if not kinds:
        raise SkipPlot("messages by kind: /timeseries has no msgs_<kind> or bytes_<kind> column")
    peer_s = _peer_seconds(timeseries, attrs)
    if not peer_s:
        raise SkipPlot("messages by kind: cannot tell the run's duration or peer count")

    def rate(prefix, kind):
        column = prefix + kind
        if column not in timeseries.columns:
            return 0.0
        return float(np.nansum(timeseries[column].to_numpy(dtype=float))) / peer_s

    msgs = np.array([rate("msgs_", k) for k in kinds])
    data_bytes = np.array([rate("bytes_", k) for k in kinds])
    busy = (msgs > 0) | (data_bytes > 0)
    silent = int((~busy).sum())
    if not busy.any():
        raise SkipPlot("messages by kind: no message of any kind was sent")
    order = np.lexsort((-data_bytes[busy], msgs[busy]))  # largest at the top of the chart
    names = np.array(kinds)[busy][order]
    msgs, data_bytes = msgs[busy][order], data_bytes[busy][order]

    plt = _pyplot()
    height = 1.8 + 0.24 * len(names)
    fig, (ax_m, ax_b) = plt.subplots(1, 2, figsize=(11, height), sharey=True)
    y = np.arange(len(names))
    for ax, values, colour, unit in ((ax_m, msgs, "tab:blue", "messages"),
                                     (ax_b, data_bytes, "tab:orange", "bytes")):
        ax.barh(y, values, color=colour, height=0.75)
        positive = values[values > 0]
        if len(positive) > 1 and positive.max() / positive.min() > 1000:
            ax.set_xscale("log")
        ax.set_xlabel(f"{unit} per peer per second")
        ax.grid(axis="x", alpha=0.3, which="both")
        for yi, v in zip(y, values):
            if v > 0:
                ax.text(v, yi, f" {v:.3g}", va="center", fontsize=7)
        ax.margins(x=0.15)
    ax_m.set_yticks(y)
    ax_m.set_yticklabels(names, fontsize=8)
    ax_m.set_ylabel("message kind")
    note = ""
    if silent:
        note = f" ({silent} {'kind' if silent == 1 else 'kinds'} with no traffic left out)"
    _title(ax_m, "Messages per peer per second" + note, attrs)
    ax_b.set_title("Bytes per peer per second", fontsize=11)
    fig.tight_layout()
    return _save(fig, out_path)


def plot_writes(ops, out_path, attrs=None):
    """(6) Writes: CDF of the acknowledgement latency of ok writes per kind (insert,
    update), and the outcome of every write (ok or its error) per kind."""
    _require(ops, ["kind", "t_issue_s", "t_ack_s", "ok"], "writes")
    plt = _pyplot()
    kinds = sorted(set(ops["kind"].astype(str)))
    ok = _as_bool(ops["ok"])
    fig, (ax_cdf, ax_out) = plt.subplots(1, 2, figsize=(12, 5))

    drew = False
    all_ms = []
    for i, kind in enumerate(kinds):
        colour = f"C{i}"
        mask = ok & (ops["kind"].astype(str) == kind).to_numpy()
        ms = _latencies_ms(ops["t_issue_s"].to_numpy()[mask], ops["t_ack_s"].to_numpy()[mask])
        if len(ms) == 0:
            continue
        x, y = _cdf_points(ms)
        p50, p99 = np.percentile(ms, [50, 99])
        ax_cdf.plot(x, y, drawstyle="steps-post", color=colour, lw=1.5,
                    label=f"{kind} ({len(ms)}): p50 {p50:.1f} ms, p99 {p99:.1f} ms")
        all_ms.append(ms)
        drew = True
    if drew:
        merged = np.sort(np.concatenate(all_ms))
        if _wide_spread(merged):
            ax_cdf.set_xscale("log")
        ax_cdf.set_ylim(0, 1.01)
        ax_cdf.legend(loc="lower right", fontsize=8)
    else:
        ax_cdf.text(0.5, 0.5, "no write was acknowledged", ha="center", va="center",
                    transform=ax_cdf.transAxes)
    ax_cdf.set_xlabel("acknowledgement latency (ms)")
    ax_cdf.set_ylabel("fraction of ok writes")
    ax_cdf.grid(alpha=0.3, which="both")
    _title(ax_cdf, "Write latency CDF", attrs)

    outcome = pd.Series(np.where(ok, "ok", ""), index=ops.index)
    if "error" in ops.columns:
        errors = ops["error"].astype(str).where(ops["error"].astype(str) != "", "failed")
    else:
        errors = pd.Series("failed", index=ops.index)
    outcome = outcome.where(ok, errors)
    # Keep the chart readable: the seven commonest errors, the rest as "other error".
    common = [o for o in outcome[~ok].value_counts().index[:7]]
    outcome = outcome.where(ok | outcome.isin(common), "other error")
    table = pd.crosstab(outcome, ops["kind"].astype(str))
    table = table.loc[table.sum(axis=1).sort_values().index]
    left = np.zeros(len(table))
    for kind in table.columns:
        counts = table[kind].to_numpy()
        ax_out.barh(np.arange(len(table)), counts, left=left, color=f"C{kinds.index(kind)}",
                    label=kind)
        left += counts
    ax_out.set_yticks(np.arange(len(table)))
    ax_out.set_yticklabels(table.index, fontsize=8)
    ax_out.set_xlabel("writes")
    ax_out.set_ylabel("outcome")
    ax_out.grid(axis="x", alpha=0.3)
    ax_out.legend(fontsize=8)
    success = ok.mean() if len(ok) else float("nan")
    ax_out.set_title(f"Write outcomes ({len(ops)} writes, {success:.1%} ok)", fontsize=11)
    fig.tight_layout()
    return _save(fig, out_path)


def plot_overlay_in_degree(overlay, in_degree, out_path, attrs=None, snapshots_max=6):
    """(7) In-degree distribution of the routing graph at each overlay snapshot (at most
    `snapshots_max` of them, evenly chosen, first and last included)."""
    _require(overlay, ["t_s"], "overlay in-degree")
    _require(in_degree, ["snapshot", "in_degree", "nodes"], "overlay in-degree")
    plt = _pyplot()
    snapshots = np.unique(in_degree["snapshot"].to_numpy(dtype=np.int64))
    if len(snapshots) > snapshots_max:
        picks = np.unique(np.linspace(0, len(snapshots) - 1, snapshots_max).round().astype(int))
        snapshots = snapshots[picks]
    fig, ax = plt.subplots(figsize=(8, 5))
    colours = plt.get_cmap("viridis")(np.linspace(0, 0.9, len(snapshots)))
    for snapshot, colour in zip(snapshots, colours):
        rows = in_degree[in_degree["snapshot"] == snapshot].sort_values("in_degree")
        degree = rows["in_degree"].to_numpy(dtype=float)
        nodes = rows["nodes"].to_numpy(dtype=float)
        total = nodes.sum()
        if total <= 0:
            continue
        label = f"snapshot {snapshot}"
        if 0 <= snapshot < len(overlay):
            row = overlay.iloc[int(snapshot)]
            label = f"t = {row['t_s']:.0f} s"
            extra = []
            if "nodes" in overlay.columns:
                extra.append(f"{int(row['nodes'])} nodes")
            if "strongly_connected_components" in overlay.columns:
                extra.append(f"{int(row['strongly_connected_components'])} SCC")
            if "hop_diameter" in overlay.columns:
                extra.append(f"diameter {int(row['hop_diameter'])}")
            if extra:
                label += " (" + ", ".join(extra) + ")"
        ax.plot(degree, nodes / total, marker="o", markersize=3, lw=1.2, color=colour,
                label=label)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("in-degree (routing entries pointing at a peer)")
    ax.set_ylabel("fraction of nodes")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    _title(ax, "Overlay in-degree distribution", attrs)
    fig.tight_layout()
    return _save(fig, out_path)


# --------------------------------------------------------------------------- driver


def _plan(run):
    """(file name, function of the out path) for every plot, in the order drawn."""
    attrs, summary = run["attrs"], run["summary"]
    ts, events, lookups = run["timeseries"], run["events"], run["lookups"]
    end_s = _end_time(run)
    return [
        ("replication.png",
         lambda p: plot_replication(ts, events, p, attrs, summary, end_s)),
        ("peers.png", lambda p: plot_peers(ts, events, p, attrs, end_s)),
        ("lookup_latency_cdf.png", lambda p: plot_lookup_latency_cdf(lookups, p, attrs)),
        ("hops.png", lambda p: plot_hops(lookups, p, attrs)),
        ("messages_by_kind.png", lambda p: plot_messages_by_kind(ts, p, attrs)),
        ("writes.png", lambda p: plot_writes(run["ops"], p, attrs)),
        ("overlay_in_degree.png",
         lambda p: plot_overlay_in_degree(run["overlay"], run["overlay_in_degree"], p, attrs)),
    ]


def write_plots(run, out_dir, log=sys.stderr):
    """Draws every plot of `run` (as read_run returns it) into out_dir.

    Returns (paths written, number of plots that failed with an unexpected error). Plots
    with nothing to show are skipped with a note on `log`; a failing plot is reported
    with its traceback on `log` and the others are still drawn.
    """
    written, failed = [], 0
    for name, draw in _plan(run):
        path = os.path.join(out_dir, name)
        try:
            written.append(draw(path))
        except SkipPlot as e:
            print(f"kittengrad.plots: skipped {name}: {e}", file=log)
        except Exception:
            failed += 1
            print(f"kittengrad.plots: error drawing {name} (a bug, please report it):",
                  file=log)
            traceback.print_exc(file=log)
    return written, failed


USAGE = "usage: python3 -m kittengrad.plots RUN.h5 OUTDIR"


def main(argv=None):
    """The command line; returns the exit status (0 ok, 1 a plot failed, 2 bad input)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr)
        return 0 if args and args[0] in ("-h", "--help") else 2
    run_path, out_dir = args
    import matplotlib

    matplotlib.use("Agg")  # files only, whatever display there is
    try:
        run = read_run(run_path)
    except RunFileError as e:
        print(f"kittengrad.plots: {e}", file=sys.stderr)
        return 2
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as e:
        print(f"kittengrad.plots: cannot create output folder {out_dir}: {e.strerror}",
              file=sys.stderr)
        return 2
    written, failed = write_plots(run, out_dir)
    for path in written:
        print(path)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
