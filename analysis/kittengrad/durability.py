"""Durability: the Markov model of a key's live replicas, beside simulated loss.

The model (Carbonite: Chun et al., NSDI 2006) follows one key's number of live replicas
k = 0..r: each live replica is lost at rate `failure_rate` (lambda, per second), a
missing one is repaired at rate `repair_rate` (mu), and k = 0 is loss. It is solved in C++
with Eigen (analysis/cpp/durability.cc) to a relative accuracy of about 1e-12.

    from kittengrad import durability as d
    d.loss_probability(3, failure_rate=1 / 3600, repair_rate=1 / 60, horizon_s=86400)
    d.monte_carlo(3, 1 / 3600, 1 / 60, 86400, trials=100_000, seed=1)   # (p, std error)
    d.rates_of(scenario)        # lambda and mu for a scenario, derived as rates_of says
    d.measured_rates(run)       # lambda and mu as a finished run showed them
    d.beside_simulation(scenario, replicas=(2, 3, 5), seeds=(1, 2))   # model vs simulation

`repair` is "per_missing" (every missing copy repaired in parallel at rate mu: what the
simulator's anti-entropy does, the default) or "one_at_a_time" (Carbonite's, pessimistic
when repair bandwidth is the bottleneck); they agree for r <= 2.
"""

from __future__ import annotations

import math

import numpy as np

from ._native_loader import native

REPAIR = "per_missing"


def loss_probability(replicas, failure_rate, repair_rate, horizon_s, repair=REPAIR) -> float:
    """P(all replicas of a key are lost within horizon_s | r live replicas at 0)."""
    return native().durability_loss_probability(int(replicas), float(failure_rate),
                                                float(repair_rate), float(horizon_s), repair)


def loss_curve(replicas, failure_rate, repair_rate, times, repair=REPAIR) -> np.ndarray:
    """loss_probability at each of `times` (non-decreasing)."""
    values = native().durability_loss_curve(int(replicas), float(failure_rate),
                                            float(repair_rate),
                                            [float(t) for t in times], repair)
    return np.asarray(values)


def mean_time_to_loss(replicas, failure_rate, repair_rate, repair=REPAIR) -> float:
    """Expected seconds until the key is lost (inf when failure_rate is 0)."""
    return native().durability_mean_time_to_loss(int(replicas), float(failure_rate),
                                                 float(repair_rate), repair)


def monte_carlo(replicas, failure_rate, repair_rate, horizon_s, trials=100_000, seed=1,
                repair=REPAIR) -> tuple[float, float]:
    """The loss probability by direct simulation of the same chain: (p, standard error)."""
    return native().durability_monte_carlo(int(replicas), float(failure_rate),
                                           float(repair_rate), float(horizon_s), int(trials),
                                           int(seed), repair)


def _mean_session_s(churn: dict) -> float:
    """Mean session length of the scenario's churn model, from its median and shape."""
    median, model = float(churn["median_session_s"]), churn["model"]
    if model == "exponential":
        return median / math.log(2)
    if model == "weibull":
        k = float(churn["shape"])
        return median / math.log(2) ** (1 / k) * math.gamma(1 + 1 / k)
    if model == "pareto":
        alpha = float(churn["shape"])
        return alpha / (alpha - 1) * median / 2 ** (1 / alpha)
    return math.inf  # no churn


def rates_of(scenario) -> dict:
    """The model's rates for a scenario, and how they are derived.

    failure_rate: a copy is gone for good when its peer departs permanently (its disk is
    lost): permanent_fraction / mean session. Transient crashes only hide a copy for a
    while, so they do not count here (the simulator counts an update lost while no live
    peer holds it, but at the end of a quiet phase those peers are back).
    repair_rate: 1 / (the time to notice a departed successor, about one stabilization
    interval and a request timeout, plus half an anti-entropy interval on average before
    the next round copies the range). These are estimates: the notebook on durability
    compares the result with the simulator.
    """
    from .scenario import as_scenario

    sc = as_scenario(scenario)
    churn, overlay = sc["churn"], sc["overlay"]
    mean_session = _mean_session_s(churn)
    failure = float(churn.get("permanent_fraction", 0.0)) / mean_session
    repair_delay = (float(overlay["stabilize_interval_s"])
                    + float(overlay["request_timeout_ms"]) / 1000
                    + float(overlay["anti_entropy_interval_s"]) / 2)
    return {"failure_rate": failure, "repair_rate": 1 / repair_delay,
            "mean_session_s": mean_session, "repair_delay_s": repair_delay}


def key_loss(run) -> dict:
    """Keys written (with an acknowledged update) and keys that lost one, at the end of a
    run, and what measured_rates needs (churn_observations): the measure beside_simulation
    sweeps."""
    keys = run.final_keys
    if len(keys) == 0:
        return {"keys_written": 0, "keys_lost": 0, **churn_observations(run)}
    written = keys["acked_updates"] > 0
    lost = written & (keys["lost_updates"] > 0)
    return {"keys_written": int(written.sum()), "keys_lost": int(lost.sum()),
            **churn_observations(run)}


def churn_observations(run) -> dict:
    """What a run shows of the model's two rates (see measured_rates):

    departures  permanent departures ("depart" events: the disk is lost) during churn
    uptime_s    seconds of peer uptime during churn: peers_alive summed over the samples
    missing_fraction  the time-averaged fraction of a surviving key's r copies that are
                missing, from the end of writes to the end of churn: over the samples, the
                sum of (r - replicas) over the keys not lost yet / (r x those keys). NaN
                when a key has more than one acknowledged update (lost_updates then counts
                updates, not keys) or no sample falls in that window.
    """
    from .scenario import Scenario

    sc = Scenario.parse(run.scenario_toml)
    r = int(sc["overlay.replication"])
    duration = float(sc["run.duration_s"])
    churn_end = float(sc["churn"].get("end_s", duration))
    w = sc["workload"]
    writes_end = float(w.get("writes_end_s", w.get("end_s", duration)))
    ts = run.timeseries
    dt = float(sc["run.metrics_interval_s"])
    during = ts[ts["t_s"] <= churn_end]
    events = run.events
    departures = int(((events["kind"] == "depart") & (events["t_s"] <= churn_end)).sum())
    uptime = float(during["peers_alive"].sum()) * dt

    window = during[during["t_s"] > writes_end]
    one_update_per_key = bool((run.final_keys["acked_updates"] <= 1).all())
    missing = np.nan
    if one_update_per_key and len(window):
        keys = window["keys"].to_numpy(float)
        lost = window["lost_updates"].to_numpy(float)  # lost keys: one update each
        surviving = keys - lost
        # Lost keys have no replica left: all of (r - replicas) summed over every key that
        # is not theirs belongs to the surviving keys.
        gaps = keys * (r - window["replicas_mean"].to_numpy(float)) - r * lost
        ok = surviving > 0
        if ok.any():
            missing = float(np.mean(gaps[ok] / (r * surviving[ok])))
    return {"departures": departures, "uptime_s": uptime, "missing_fraction": missing}


def rates_from_observations(departures, uptime_s, missing_fraction) -> dict:
    """The model's rates from churn_observations (see measured_rates)."""
    failure = departures / uptime_s if uptime_s > 0 else math.nan
    f = missing_fraction
    repair = failure * (1 - f) / f if 0 < f < 1 else math.nan
    return {"failure_rate": failure, "repair_rate": repair}


def measured_rates(run) -> dict:
    """The model's rates as a finished run showed them, where rates_of derives them from
    the scenario's settings.

    failure_rate: permanent departures per second of peer uptime during churn.
    repair_rate: in the model each of a surviving key's r copies is an on/off process, lost
    at rate lambda and repaired at rate mu (per_missing repair), so it is missing a fraction
    f = lambda / (lambda + mu) of the time: mu = lambda (1 - f) / f, with f the measured
    missing_fraction of churn_observations. The simulator counts a copy missing also while
    a peer that just joined has not yet received a range whose old holder still keeps it,
    so f is if anything too large and mu too small: a pessimistic model.
    Needs a run whose keys have one acknowledged update each (inserts only); NaN otherwise.
    """
    return rates_from_observations(**churn_observations(run))


def exposure_s(scenario) -> float:
    """How long the average written key is exposed to churn: from the middle of the
    writing window to the end of the churn window (or of the run)."""
    from .scenario import as_scenario

    sc = as_scenario(scenario)
    w, churn, run = sc["workload"], sc["churn"], sc["run"]
    start = float(w.get("start_s", 0.0))
    writes_end = float(w.get("writes_end_s", w.get("end_s", run["duration_s"])))
    churn_end = float(churn.get("end_s", run["duration_s"]))
    return max(0.0, churn_end - (start + writes_end) / 2)


def beside_simulation(scenario, replicas=(2, 3, 5), seeds=(1, 2), executor=None,
                      progress=True, repair=REPAIR):
    """Simulated key loss next to the model's, per replication factor.

    Runs the scenario for every r in `replicas` and seed in `seeds` (kittengrad.sweep, so
    `executor` may be a Dask client's), counts the written keys that lost an acknowledged
    update, and sets beside that fraction (with its binomial standard error) the model's
    loss probability for rates_of(scenario) over exposure_s(scenario), and the model's loss
    for the rates the runs showed (measured_rates, pooled over the seeds: NaN unless every
    key has one update). Returns a pandas DataFrame, one row per r.
    """
    import pandas as pd

    from .scenario import as_scenario
    from .sweeps import sweep

    sc = as_scenario(scenario)
    runs = sweep(sc, {"overlay.replication": list(replicas), "run.seed": list(seeds)},
                 executor=executor, progress=progress, measure=key_loss)
    rates = rates_of(sc)
    horizon = exposure_s(sc)
    rows = []
    for r, group in runs.groupby("overlay.replication", sort=True):
        written, lost = int(group["keys_written"].sum()), int(group["keys_lost"].sum())
        p = lost / written if written else math.nan
        seen = rates_from_observations(int(group["departures"].sum()),
                                       float(group["uptime_s"].sum()),
                                       float(group["missing_fraction"].mean()))
        if all(math.isfinite(v) and v >= 0 for v in seen.values()):
            model_measured = loss_probability(r, seen["failure_rate"], seen["repair_rate"],
                                              horizon, repair)
        else:
            model_measured = math.nan
        rows.append({
            "replicas": int(r), "keys_written": written, "keys_lost": lost,
            "simulated_loss": p,
            "simulated_se": math.sqrt(p * (1 - p) / written) if written else math.nan,
            "model_loss": loss_probability(r, rates["failure_rate"], rates["repair_rate"],
                                           horizon, repair),
            "failure_rate": rates["failure_rate"], "repair_rate": rates["repair_rate"],
            "model_loss_measured_rates": model_measured,
            "measured_failure_rate": seen["failure_rate"],
            "measured_repair_rate": seen["repair_rate"],
            "horizon_s": horizon,
        })
    return pd.DataFrame(rows)
