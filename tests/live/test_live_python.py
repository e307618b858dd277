"""kg.live() from Debian's /usr/bin/python3: a live run comes back as a Run whose frames
have the columns of kg.simulate()'s, and kg.sweep(backend="live") runs points in turn.

Uses a 15-second, 8-peer cut of scenarios/live-16.toml (no churn, no failures) so that the
suite stays short; tests/live/test_live_run.py judges a full live story.
"""
from pathlib import Path

import pytest

import kittengrad as kg

ROOT = Path(__file__).resolve().parents[2]
SHORT = {"run.duration_s": 15, "overlay.peers": 8, "churn.model": "none",
         "workload.start_s": 2, "workload.end_s": 13}


def short_scenario():
    sc = kg.Scenario.load(ROOT / "scenarios" / "live-16.toml").with_overrides(SHORT)
    # live-16's failures come after 15 s: none of them happens in this cut.
    return sc


def test_live_returns_a_run_with_the_simulators_columns():
    sc = short_scenario()
    run = kg.live(sc, seed=4)
    sim = kg.simulate(sc, seed=4)
    for name in ("timeseries", "lookups", "ops", "events"):
        live_cols = set(getattr(run, name).columns)
        sim_cols = set(getattr(sim, name).columns)
        assert live_cols == sim_cols, (name, live_cols ^ sim_cols)
    assert len(run.lookups) > 50 and run.lookups["ok"].mean() > 0.95
    s = run.summary()
    assert s["lost_updates"] == 0
    assert set(s) == set(sim.summary())


def test_live_sweep_runs_points_one_after_another():
    with pytest.raises(kg.ScenarioError, match="one after another"):
        kg.sweep(short_scenario(), {"run.seed": [1]}, backend="live", executor=object())
    with pytest.raises(kg.ScenarioError, match="backend"):
        kg.sweep(short_scenario(), {"run.seed": [1]}, backend="cloud")


def test_live_refuses_a_ring_too_large_for_one_machine():
    sc = short_scenario().with_overrides({"overlay.peers": 5000})
    with pytest.raises(kg.ScenarioError, match="at most 256"):
        kg.live(sc)
