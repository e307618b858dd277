"""The kittengrad package as a researcher uses it: scenarios, simulate, Run, load, sweep
(local processes and a Dask cluster), errors, and the core's pure pieces.

Runs against the build tree's package (PYTHONPATH=build/python, set by CTest). The
simulations are small (tens of peers, a simulated minute or two) except the one of the
issue's acceptance, 200 peers for 600 s, run twice to compare.
"""

import hashlib
import os
import pathlib
import subprocess
import sys

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

import kittengrad as kg

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHURN_1K = ROOT / "scenarios" / "churn-1k.toml"

TINY = """
[run]
duration_s = 60
metrics_interval_s = 10

[overlay]
peers = 24

[workload]
inserts_per_s = 2
updates_per_s = 3
lookups_per_s = 5
"""

# The columns DESIGN.md promises ("Run file (HDF5)").
DESIGN_COLUMNS = {
    "timeseries": ["t_s", "peers_alive", "keys", "replicas_min", "replicas_mean",
                   "under_replicated_keys", "divergent_keys", "lost_updates", "msgs_sent",
                   "bytes_sent"],
    "lookups": ["t_issue_s", "t_done_s", "hops", "ok", "correct"],
    "ops": ["kind", "t_issue_s", "t_ack_s", "ok", "error"],
    "events": ["t_s", "kind", "peer"],
}


def tiny(**overrides):
    sc = kg.Scenario.parse(TINY)
    return sc.with_overrides(overrides) if overrides else sc


def frames(run):
    return {name: getattr(run, name) for name in DESIGN_COLUMNS}


# ------------------------------------------------------------------- acceptance 1


@pytest.fixture(scope="module")
def churn_200():
    sc = kg.Scenario.load(CHURN_1K).with_overrides(
        {"overlay.peers": 200, "run.duration_s": 600})
    return [kg.simulate(sc, seed=3) for _ in range(2)]


def test_simulate_gives_the_design_tables(churn_200):
    run = churn_200[0]
    for name, columns in DESIGN_COLUMNS.items():
        df = getattr(run, name)
        assert isinstance(df, pd.DataFrame)
        missing = [c for c in columns if c not in df.columns]
        assert not missing, f"{name} lacks {missing}"
    interval = kg.Scenario.load(CHURN_1K)["run.metrics_interval_s"]
    assert len(run.timeseries) == round(600 / interval)
    assert run.timeseries["t_s"].iloc[-1] == 600
    assert run.timeseries["peers_alive"].max() <= 200
    assert len(run.lookups) > 1000 and len(run.ops) > 1000
    assert run.seed == 3
    s = run.summary()
    for key in ("convergence_time_s", "lost_updates", "lookup_success", "lookup_p50_ms",
                "lookup_p99_ms", "mean_hops", "msgs_per_peer_s"):
        assert key in s
    assert s["lookup_success"] == pytest.approx(run.lookups["ok"].astype(bool).mean())
    assert s["lost_updates"] == 0


def test_same_seed_same_frames(churn_200):
    a, b = churn_200
    for name in DESIGN_COLUMNS:
        pdt.assert_frame_equal(getattr(a, name), getattr(b, name))
    pdt.assert_frame_equal(a.final_keys, b.final_keys)


def test_five_simulations_in_one_interpreter():
    runs = [kg.simulate(tiny(), seed=s) for s in (1, 2, 3, 4, 5)]
    assert [r.seed for r in runs] == [1, 2, 3, 4, 5]
    for r in runs:
        assert len(r.timeseries) == 6 and len(r.lookups) > 100
    # Different seeds, different runs.
    assert not runs[0].lookups["t_issue_s"].equals(runs[1].lookups["t_issue_s"])


def test_simulate_keeps_the_run_file_when_asked(tmp_path):
    out = tmp_path / "r.h5"
    run = kg.simulate(tiny(), seed=7, out=out)
    assert run.path == str(out) and out.exists()
    again = kg.load(out)
    for name in DESIGN_COLUMNS:
        pdt.assert_frame_equal(getattr(run, name), getattr(again, name))
    assert again.summary() == pytest.approx(run.summary(), nan_ok=True)
    assert "peers = 24" in again.scenario_toml


def test_simulate_with_progress_bar(capsys):
    run = kg.simulate(tiny(**{"run.duration_s": 20}), progress=True)
    err = capsys.readouterr().err
    assert "sim s" in err and "100%" in err
    assert len(run.timeseries) == 2


def test_run_plots_return_figures(tmp_path):
    run = kg.simulate(tiny(), seed=2)
    import matplotlib

    matplotlib.use("Agg")
    fig = run.plot_replication()
    assert fig.axes and fig.axes[-1].get_xlabel() == "simulated time (s)"
    path = run.plot_lookup_latency_cdf(tmp_path / "cdf.png")
    assert os.path.getsize(path) > 1000
    written = run.write_plots(tmp_path / "all")
    assert len(written) >= 5


# ------------------------------------------------------------------------ scenarios


def test_scenario_overrides_and_values():
    sc = kg.Scenario.load(CHURN_1K)
    small = sc.with_overrides({"overlay.peers": 64, "churn.model": "exponential",
                               "network.latency": {"model": "constant", "ms": 20},
                               "run.snapshot_times_s": [30, 60]})
    assert small["overlay.peers"] == 64 and sc["overlay.peers"] == 1000
    assert small["network.latency"]["model"] == "constant"
    assert small["run.snapshot_times_s"] == [30, 60]
    assert small.peers == 64
    import pickle

    assert pickle.loads(pickle.dumps(small)) == small


def test_failures_as_a_list_of_dicts():
    sc = tiny(failure=[{"at_s": 20, "kind": "crash", "peers": {"count": 3}}])
    assert sc["failure"][0]["kind"] == "crash"


@pytest.mark.parametrize("overrides, words", [
    ({"overlay.pears": 3}, ["overlay.pears", "unknown key"]),
    ({"overlay.peers": "many"}, ["overlay.peers"]),
    ({"overlay.peers": 0}, ["overlay.peers", ">= "]),
    ({"overlay.replication": 500}, ["replication"]),
    ({"churn.model": "gamma"}, ["churn.model"]),
    ({"workload.lookups_per_s": -1}, ["workload.lookups_per_s"]),
    ({"run.duration_s": float("nan")}, ["finite"]),
])
def test_bad_overrides_raise_scenario_error(overrides, words):
    with pytest.raises(kg.ScenarioError) as e:
        tiny().with_overrides(overrides)
    for w in words:
        assert w in str(e.value)
    assert isinstance(e.value, ValueError)


def test_bad_files_raise_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such scenario file"):
        kg.Scenario.load(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[overlay]\npeers = = 3\n")
    with pytest.raises(kg.ScenarioError, match="bad.toml"):
        kg.Scenario.load(bad)
    with pytest.raises(kg.ScenarioError, match="network.latency.file"):
        kg.Scenario.parse('[network]\nlatency = { model = "matrix", file = "nowhere.csv" }\n')
    with pytest.raises(kg.plots.RunFileError):
        kg.load(bad)
    # The interpreter is still fine.
    assert len(kg.simulate(tiny(**{"run.duration_s": 10})).timeseries) == 1


def test_simulate_refuses_a_bad_seed_and_scenario_type():
    with pytest.raises(TypeError):
        kg.simulate(42)
    with pytest.raises(kg.ScenarioError):
        kg.simulate(tiny(), overrides={"no.such": 1})


# ---------------------------------------------------------------------------- sweep

GRID = {"overlay.replication": [2, 3], "workload.lookups_per_s": [2, 5, 8], "run.seed": [1, 2]}


def check_sweep(df):
    assert len(df) == 12
    points = kg.grid_points(GRID)
    for col in GRID:
        assert df[col].tolist() == [p[col] for p in points]
    for col in ("lookup_success", "lost_updates", "msgs_per_peer_s", "wall_s"):
        assert col in df.columns
    assert df["lookup_success"].between(0, 1).all()
    # The lookup rate shows in the number of lookups made.
    by_rate = df.groupby("workload.lookups_per_s")["lookups"].mean()
    assert by_rate.is_monotonic_increasing


def test_sweep_local_processes():
    df = kg.sweep(tiny(**{"run.duration_s": 30}), GRID, progress=False)
    check_sweep(df)


def test_sweep_on_a_dask_cluster():
    # Installed by tools/setup-debian.sh (python3-distributed): its absence is a failure.
    import distributed
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        df = kg.sweep(tiny(**{"run.duration_s": 30}), GRID, executor=client.get_executor(),
                      progress=False)
    check_sweep(df)


def test_sweep_checks_every_point_first():
    with pytest.raises(kg.ScenarioError, match="overlay.replication"):
        kg.sweep(tiny(), {"overlay.replication": [2, 300]}, progress=False)


# ----------------------------------------------------------------------------- core


def test_ring_id_is_sha256():
    assert kg.core.ring_id(b"abc") == hashlib.sha256(b"abc").hexdigest()
    assert kg.core.ring_id("é") == hashlib.sha256("é".encode()).hexdigest()
    assert 0 <= kg.core.ring_fraction(kg.core.ring_id(b"x")) < 1


def test_replica_set_follows_chord():
    rng = np.random.default_rng(5)
    members = [kg.core.KeyPair(int(s)).ring_id for s in rng.integers(0, 2**40, 50)]
    ring = sorted(members)
    for i in range(200):
        key = kg.core.key_of(f"record {i}")
        first = next((j for j, m in enumerate(ring) if m >= key), 0)
        assert kg.core.replica_set(key, members, 3) == [ring[(first + k) % len(ring)]
                                                        for k in range(3)]
    assert kg.core.replica_set(key, members[:2], 3) == sorted(members[:2], key=lambda m: (m < key, m))
    with pytest.raises(ValueError, match="ring id"):
        kg.core.replica_set("zz", members, 3)


def test_crdt_merge_is_a_commutative_idempotent_union():
    keys = [kg.core.KeyPair(s) for s in range(3)]
    entries = [kg.core.make_entry(keys[i % 3], "default", f"canon {i % 4}",
                                  None if i < 4 else f"update {i}", 1000 + i)
               for i in range(12)]
    a, b = kg.core.Store(), kg.core.Store()
    for e in entries[:8]:
        a.insert(e)
    for e in entries[5:]:
        b.insert(e)
    ab, ba = kg.core.Store(), kg.core.Store()
    ab.merge(a), ab.merge(b)
    ba.merge(b), ba.merge(a)
    assert ab.same_contents(ba) and ab.entry_count == 12
    assert ab.merge(a) == 0  # idempotent
    assert all(e.verify() for e in ab.entries())


def test_journal_verification_catches_tampering():
    keys = kg.core.KeyPair(9)
    j = kg.core.Journal(keys)
    for h in range(3):
        for i in range(4):
            j.append(kg.core.make_entry(keys, "default", f"r{h}-{i}", None, 100 * h + i),
                     100 * h + i)
        j.cut(100 * h + 50)
    blocks = j.blocks
    assert kg.core.verify_chain(blocks) == (True, "")
    assert [b.height for b in blocks] == [1, 2, 3] and blocks[1].prev == blocks[0].hash
    blocks[1].timestamp_ms += 1
    ok, reason = kg.core.verify_chain(blocks)
    assert not ok and "height 2" in reason
    assert kg.core.verify_chain([j.blocks[0], j.blocks[2]])[0] is False


def test_package_imports_cheaply():
    code = ("import sys, kittengrad; "
            "print(any(m in sys.modules for m in ('pandas', 'kittengrad._native')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=os.environ)
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------------ durability


@pytest.mark.parametrize("r, lam, mu, t, repair", [
    (2, 1 / 600, 1 / 60, 3600, "per_missing"),
    (3, 1 / 600, 1 / 60, 3600, "per_missing"),
    (5, 1 / 300, 1 / 60, 3600, "per_missing"),
    (3, 1 / 600, 1 / 60, 3600, "one_at_a_time"),
])
def test_markov_model_agrees_with_monte_carlo(r, lam, mu, t, repair):
    seed = 1000 + r
    p = kg.durability.loss_probability(r, lam, mu, t, repair)
    mc, se = kg.durability.monte_carlo(r, lam, mu, t, trials=200_000, seed=seed, repair=repair)
    assert abs(p - mc) <= 4 * se, f"model {p} vs Monte Carlo {mc} +- {se} (seed {seed})"


def test_markov_model_without_repair_is_closed_form():
    lam, t = 1 / 500, 800
    for r in (1, 2, 3, 5):
        expected = (1 - np.exp(-lam * t)) ** r
        assert kg.durability.loss_probability(r, lam, 0, t) == pytest.approx(expected, rel=1e-9)
    curve = kg.durability.loss_curve(3, lam, 1 / 60, [0, 100, 1000, 10000])
    assert curve[0] == 0 and np.all(np.diff(curve) > 0)
    assert kg.durability.mean_time_to_loss(1, lam, 0) == pytest.approx(1 / lam)
    with pytest.raises(ValueError, match="replicas"):
        kg.durability.loss_probability(0, lam, 0, t)
    with pytest.raises(ValueError, match="repair"):
        kg.durability.loss_probability(2, lam, 0, t, repair="fast")


# Permanent churn (every departure loses its disk) with sessions of a median of 5 min, all
# keys written in the first minute and exposed for the rest of the run: at r = 2 about a
# quarter of them are lost, enough to measure with a few hundred keys.
DURABILITY = """
[run]
duration_s = 1200
metrics_interval_s = 10

[overlay]
peers = 80
replication = 2
stabilize_interval_s = 5
anti_entropy_interval_s = 60
request_timeout_ms = 1000

[churn]
model = "exponential"
median_session_s = 300
median_downtime_s = 60
permanent_fraction = 1.0

[workload]
inserts_per_s = 5
updates_per_s = 0
lookups_per_s = 0
writes_end_s = 60
"""


def test_durability_model_predicts_simulated_loss():
    """The Markov model against the simulator at r = 2, two seeds pooled (~600 keys).

    Tolerance: the model's loss within a factor of 2 of the simulated fraction, either way.
    Keys are lost in clumps (the keys between two peers share their fate), so the simulated
    fraction varies more than a binomial: over nine seeds of this scenario it ran from 0.15
    to 0.38 (mean 0.26, sd 0.07 per seed, ~0.05 for two pooled), while the model gives 0.30
    with the derived rates and 0.21 to 0.26 with each seed's measured ones. Half or twice
    the model is then 2.5 to 4 pooled standard deviations away. A wrong model is off by
    more: the repair rate x10 predicts ~0.02, r - 1 copies (r = 1) ~0.93.
    """
    sc = kg.Scenario.parse(DURABILITY)
    rates = kg.durability.rates_of(sc)
    assert rates["failure_rate"] == pytest.approx(np.log(2) / 300)
    assert kg.durability.exposure_s(sc) == pytest.approx(1200 - 30)
    side = kg.durability.beside_simulation(sc, replicas=(2,), seeds=(1, 2), progress=False)
    row = side.iloc[0]
    assert row["replicas"] == 2 and row["keys_written"] > 500
    described = side.to_string()

    # The rates the runs showed. Departures are a Poisson count (~380, a 5% standard
    # error): the churn model's lambda within 15%. The repair rate derived from the
    # maintenance intervals within a factor of 2 of the one measured.
    assert row["measured_failure_rate"] == pytest.approx(rates["failure_rate"], rel=0.15), \
        described
    assert 0.5 <= rates["repair_rate"] / row["measured_repair_rate"] <= 2, described

    # The model's loss, with the measured rates and with the derived ones, against the
    # simulated fraction.
    for column in ("model_loss_measured_rates", "model_loss"):
        ratio = row[column] / row["simulated_loss"]
        assert 0.5 <= ratio <= 2, f"{column}: model / simulated = {ratio:.2f}\n{described}"
