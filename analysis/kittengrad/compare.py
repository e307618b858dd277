"""compare: one scenario through both worlds, side by side (docs/VALIDATION.md, "Sim vs
live", and notebooks/sim-vs-live.ipynb).

    sim = [kg.simulate(sc, seed=s) for s in seeds]
    live = [kg.live(sc, seed=s) for s in seeds]
    table = figures_side_by_side(sim, live)      # one row per figure: sim, live, ratio
    by_kind = traffic_by_kind(sim, live)         # messages per peer per second, by kind

Every figure is a mean over the runs of one world. A ratio is live / sim; `within_10pct`
says whether it lies in [0.9, 1.1] (figures that are 0 in both worlds count as equal).
"""

from __future__ import annotations

import math

import numpy as np


def run_figures(run) -> dict:
    """The figures of one run that the two worlds are compared on."""
    s = run.summary()
    lk, ops, ts = run.lookups, run.ops, run.timeseries
    answered = lk[lk["ok"].astype(bool)]
    lookup_ms = (answered["t_done_s"] - answered["t_issue_s"]) * 1000
    acked = ops[ops["ok"].astype(bool)]
    write_ms = (acked["t_ack_s"] - acked["t_issue_s"]) * 1000
    peer_s = float((ts["peers_alive"] * np.diff(np.concatenate([[0.0], ts["t_s"]]))).sum())
    return {
        "lookup_success": float(lk["ok"].mean()) if len(lk) else math.nan,
        "lookup_correct": float(lk["correct"].mean()) if len(lk) else math.nan,
        "write_success": float(ops["ok"].mean()) if len(ops) else math.nan,
        "lookup_p50_ms": float(lookup_ms.quantile(0.5)) if len(lookup_ms) else math.nan,
        "lookup_p99_ms": float(lookup_ms.quantile(0.99)) if len(lookup_ms) else math.nan,
        "write_p50_ms": float(write_ms.quantile(0.5)) if len(write_ms) else math.nan,
        "write_p99_ms": float(write_ms.quantile(0.99)) if len(write_ms) else math.nan,
        "mean_hops": float(s.get("mean_hops", math.nan)),
        "msgs_per_peer_s": float(ts["msgs_sent"].sum() / peer_s) if peer_s > 0 else math.nan,
        "bytes_per_peer_s": float(ts["bytes_sent"].sum() / peer_s) if peer_s > 0 else math.nan,
        "convergence_time_s": float(s.get("convergence_time_s", math.nan)),
        "lost_updates": float(s.get("lost_updates", math.nan)),
        "under_replicated_keys_end": float(ts["under_replicated_keys"].iloc[-1]) if len(ts) else math.nan,
    }


def _ratio(sim, live):
    if sim == 0 and live == 0:
        return 1.0
    if sim == 0 or math.isnan(sim) or math.isnan(live):
        return math.nan
    return live / sim


def figures_side_by_side(sim_runs, live_runs):
    """A DataFrame, one row per figure: sim (mean), live (mean), ratio, within_10pct."""
    import pandas as pd

    sim = pd.DataFrame([run_figures(r) for r in sim_runs]).mean()
    live = pd.DataFrame([run_figures(r) for r in live_runs]).mean()
    rows = []
    for name in sim.index:
        ratio = _ratio(sim[name], live[name])
        rows.append({"figure": name, "sim": sim[name], "live": live[name], "ratio": ratio,
                     "within_10pct": bool(0.9 <= ratio <= 1.1) if not math.isnan(ratio) else False})
    return pd.DataFrame(rows).set_index("figure")


def _by_kind(run, prefix):
    ts = run.timeseries
    peer_s = float((ts["peers_alive"] * np.diff(np.concatenate([[0.0], ts["t_s"]]))).sum())
    return {c[len(prefix):]: ts[c].sum() / peer_s for c in ts.columns
            if c.startswith(prefix) and c != prefix + "sent" and peer_s > 0}


def traffic_by_kind(sim_runs, live_runs, bytes_=False):
    """Messages (or bytes) per peer per second by message kind, the two worlds side by
    side, kinds that either world sent, largest first."""
    import pandas as pd

    prefix = "bytes_" if bytes_ else "msgs_"
    sim = pd.DataFrame([_by_kind(r, prefix) for r in sim_runs]).mean()
    live = pd.DataFrame([_by_kind(r, prefix) for r in live_runs]).mean()
    out = pd.DataFrame({"sim": sim, "live": live}).fillna(0.0)
    out = out[(out["sim"] > 0) | (out["live"] > 0)]
    out["ratio"] = [_ratio(s, l) for s, l in zip(out["sim"], out["live"])]
    return out.sort_values("sim", ascending=False)
