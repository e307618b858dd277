"""The `kittengrad sim` and `kittengrad report` commands, end to end, as users run them.

Each test starts the real binary (path in KG_BINARY) on small scenarios and judges its
exit status, its messages and the run file it wrote. SimGrid allows one simulation per
process, so these tests drive the command rather than a library call.
"""
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
BINARY = os.environ.get("KG_BINARY", str(ROOT / "build" / "kittengrad"))
SCENARIOS = ROOT / "scenarios"

SMALL = [
    "--set", "overlay.peers=60",
    "--set", "run.duration_s=240",
    "--set", "churn.end_s=150",
    "--set", "workload.end_s=150",
    "--set", "churn.median_session_s=300",
    "--set", "churn.median_downtime_s=30",
]


def run(*args, env=None, timeout=300):
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    return subprocess.run([BINARY, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=full_env)


def table(path, name):
    with h5py.File(path, "r") as f:
        g = f[name]
        return {c: g[c][()] for c in g}


def test_small_churn_run_has_every_table_and_converges(tmp_path):
    out = tmp_path / "c.h5"
    r = run("sim", SCENARIOS / "churn-1k.toml", *SMALL, "--out", out,
            env={"KG_ORACLE_AUDIT": "1"})
    # KG_ORACLE_AUDIT recounts every metric from scratch at every sample: exit 1 if the
    # incremental oracle ever disagreed.
    assert r.returncode == 0, r.stderr
    with h5py.File(out, "r") as f:
        for group in ["timeseries", "lookups", "ops", "events", "final/peers", "final/keys",
                      "overlay", "overlay_in_degree", "summary"]:
            assert group in f, group
        for attr in ["scenario", "seed", "backend", "version", "wall_time_s"]:
            assert attr in f.attrs, attr
        assert f.attrs["backend"] in (b"sim", "sim")
        ts = f["timeseries"]
        for col in ["t_s", "peers_alive", "keys", "replicas_min", "replicas_mean",
                    "under_replicated_keys", "divergent_keys", "lost_updates", "msgs_sent",
                    "bytes_sent"]:
            assert col in ts, col
        assert ts["under_replicated_keys"][-1] == 0
        assert ts["divergent_keys"][-1] == 0
        assert ts["lost_updates"][-1] == 0
        assert ts["keys"][-1] > 0
        assert len(f["events"]["t_s"]) > 0, "churn produced no events"
        summary = dict(f["summary"].attrs)
        assert summary["history_checked"]
        assert summary["history_lost"] == 0 and summary["history_phantoms"] == 0
    lookups = table(out, "lookups")
    answered = np.mean(lookups["ok"])
    assert answered >= 0.97, answered
    assert "history check" in r.stdout


def test_same_seed_gives_identical_tables(tmp_path):
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    for out in (a, b):
        r = run("sim", SCENARIOS / "churn-1k.toml", *SMALL, "--seed", 7, "--out", out, "--quiet")
        assert r.returncode == 0, r.stderr
    for group in ["/timeseries", "/lookups", "/ops", "/events", "/final", "/overlay",
                  "/overlay_in_degree"]:
        d = subprocess.run(["h5diff", str(a), str(b), group, group], capture_output=True,
                           text=True)
        assert d.returncode == 0, f"{group} differs: {d.stdout[:2000]}"
    c = tmp_path / "c.h5"
    r = run("sim", SCENARIOS / "churn-1k.toml", *SMALL, "--seed", 8, "--out", c, "--quiet")
    assert r.returncode == 0, r.stderr
    # h5diff calls datasets of different lengths "not comparable" and exits 0: compare here.
    la, lc = table(a, "lookups"), table(c, "lookups")
    same = all(len(la[k]) == len(lc[k]) and np.array_equal(la[k], lc[k], equal_nan=True)
               for k in la)
    assert not same, "a different seed gave the same lookups"


ADJACENT = ["--set", "overlay.peers=40", "--set", "run.duration_s=420",
            "--set", "workload.end_s=330"]


def test_crash_of_r_minus_1_adjacent_replicas_loses_nothing(tmp_path):
    out = tmp_path / "adj.h5"
    r = run("sim", SCENARIOS / "adjacent-crash.toml", *ADJACENT,
            "--set", "failure=[{at_s=200, kind=\"crash\", peers={adjacent=2}, disk_lost=true}]",
            "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    ts = table(out, "timeseries")
    ev = table(out, "events")
    assert sum(k in (b"crash", "crash") for k in ev["kind"]) == 2
    assert ts["lost_updates"].max() == 0
    assert ev["lost_updates"].sum() == 0
    with h5py.File(out, "r") as f:
        assert f["summary"].attrs["history_lost"] == 0


def test_crash_of_r_adjacent_replicas_loses_exactly_what_only_they_held(tmp_path):
    out = tmp_path / "adjr.h5"
    r = run("sim", SCENARIOS / "adjacent-crash-r.toml", *ADJACENT,
            "--set", "failure=[{at_s=200, kind=\"crash\", peers={adjacent=3}, disk_lost=true}]",
            "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    ts = table(out, "timeseries")
    ev = table(out, "events")
    lost_at_crash = int(ev["lost_updates"].sum())
    # 40 peers, r = 3: the three crashed peers were the only replicas of about 1/40 of
    # the keys; with about 1,000 acknowledged updates some of them were lost.
    assert lost_at_crash > 0
    assert ts["lost_updates"][-1] == lost_at_crash
    with h5py.File(out, "r") as f:
        assert f["summary"].attrs["history_lost"] == lost_at_crash
    assert "took their last copies" in r.stdout


BAD = [
    ("unknown key", "[run]\nduration_s = 10\nbogus = 1\n", [], "run.bogus"),
    ("wrong type", "[overlay]\npeers = \"many\"\n", [], "overlay.peers"),
    ("negative rate", "[workload]\ninserts_per_s = -1\n", [], "workload.inserts_per_s"),
    ("r > peers", "[overlay]\npeers = 2\nreplication = 3\nwrite_quorum = 1\n", [],
     "overlay.replication"),
    ("malformed TOML", "[run\nduration_s = 10\n", [], ":1"),
    ("missing matrix", "[network]\nlatency = { model = \"matrix\", file = \"nope.csv\" }\n", [],
     "network.latency.file"),
    ("unknown model", "[network]\nlatency = { model = \"warp\" }\n", [], "network.latency.model"),
    ("unknown churn", "[churn]\nmodel = \"sometimes\"\n", [], "churn.model"),
    ("bad override key", "", ["--set", "overlay.pears=3"], "overlay.pears"),
    ("bad override value", "", ["--set", "overlay.peers=-4"], "overlay.peers"),
]


@pytest.mark.parametrize("name,text,extra,needle", BAD, ids=[b[0] for b in BAD])
def test_bad_input_exits_2_and_names_the_key(tmp_path, name, text, extra, needle):
    sc = tmp_path / "bad.toml"
    sc.write_text(text)
    r = run("sim", sc, *extra, "--out", tmp_path / "x.h5", "--quiet", timeout=60)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert needle in r.stderr, r.stderr
    assert not (tmp_path / "x.h5").exists()


def test_bad_usage_and_missing_files_exit_2(tmp_path):
    assert run("sim").returncode == 2
    assert run("sim", tmp_path / "none.toml").returncode == 2
    assert run("frobnicate").returncode == 2
    r = run("report", tmp_path / "none.h5", "--out", tmp_path / "r")
    assert r.returncode == 2 and "none.h5" in r.stderr


def test_no_arguments_prints_the_usage_and_exits_2():
    r = run()
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stdout == ""
    # The usage names every subcommand the binary has (DESIGN.md, "Commands"), each with
    # its one-line description.
    assert "Usage:" in r.stderr, r.stderr
    for name, words in (("sim", "run a scenario in the simulator"),
                        ("report", "summary and PNG plots of a run file")):
        line = next((l for l in r.stderr.splitlines() if l.strip().startswith(name + " ")), "")
        assert words in line, (name, r.stderr)


def test_report_prints_summary_and_names_its_plots(tmp_path):
    out = tmp_path / "p.h5"
    r = run("sim", SCENARIOS / "partition-heal.toml", "--set", "overlay.peers=40",
            "--set", "run.duration_s=300", "--set", "workload.end_s=200",
            "--set", "failure=[{at_s=60, kind=\"partition\", peers={fraction=0.3}}, "
                     "{at_s=120, kind=\"heal\"}]", "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    rep = run("report", out, "--out", tmp_path / "plots")
    assert rep.returncode == 0, rep.stderr
    assert "lost updates" in rep.stdout
    pngs = [Path(line.strip()) for line in rep.stdout.splitlines() if line.strip().endswith(".png")]
    assert len(pngs) >= 5, rep.stdout
    for p in pngs:
        assert p.exists() and p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_peers_joining_one_by_one_under_loss_and_skew_converge(tmp_path):
    out = tmp_path / "join.h5"
    r = run("sim", SCENARIOS / "churn-1k.toml", "--set", "overlay.peers=50",
            "--set", "overlay.bootstrap=join", "--set", "overlay.join_rate_per_s=5",
            "--set", "churn.model=none", "--set", "run.duration_s=240",
            "--set", "workload.start_s=20", "--set", "workload.end_s=180",
            "--set", "network.loss=0.02", "--set", "network.duplicate=0.01",
            "--set", "network.clock_skew_ms=500", "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    ev = table(out, "events")
    assert sum(k in (b"join", "join") for k in ev["kind"]) == 49  # all but the first peer
    ts = table(out, "timeseries")
    assert ts["peers_alive"][-1] == 50
    assert ts["under_replicated_keys"][-1] == 0 and ts["divergent_keys"][-1] == 0
    assert ts["lost_updates"][-1] == 0
    with h5py.File(out, "r") as f:
        assert f["summary"].attrs["history_lost"] == 0


def test_two_namespaces_get_columns_of_their_own(tmp_path):
    out = tmp_path / "ns.h5"
    r = run("sim", SCENARIOS / "churn-1k.toml", *SMALL, "--set", 'overlay.namespaces=["a", "b"]',
            "--out", out, "--quiet", env={"KG_ORACLE_AUDIT": "1"})
    assert r.returncode == 0, r.stderr
    ts = table(out, "timeseries")
    for col in ["keys", "replicas_min", "replicas_mean", "under_replicated_keys",
                "divergent_keys", "lost_updates"]:
        assert f"{col}_a" in ts and f"{col}_b" in ts, col
    assert (ts["keys_a"] + ts["keys_b"] == ts["keys"]).all()
    assert ts["keys_a"][-1] > 0 and ts["keys_b"][-1] > 0
    assert (ts["under_replicated_keys_a"] + ts["under_replicated_keys_b"]
            == ts["under_replicated_keys"]).all()
