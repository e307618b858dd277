"""Tests of kittengrad.plots: synthetic run files in the layout of DESIGN.md ("Run file
(HDF5)"), drawn by `python3 -m kittengrad.plots` in a subprocess exactly as
`kittengrad report` runs it, and checked for exit status, printed paths and valid PNGs.

Run: PYTHONPATH=analysis /usr/bin/python3 -m pytest -q tests/python/test_plots.py
"""

import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

ANALYSIS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "analysis"))
sys.path.insert(0, ANALYSIS)

from kittengrad import plots  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ALL_PLOTS = {
    "replication.png",
    "peers.png",
    "lookup_latency_cdf.png",
    "hops.png",
    "messages_by_kind.png",
    "writes.png",
    "overlay_in_degree.png",
}
MESSAGE_KINDS = [
    "find_successor", "find_successor_reply", "notify", "get_predecessor",
    "get_predecessor_reply", "ping", "pong", "replicate", "replicate_ack", "ae_digest",
    "ae_request", "ae_entries", "insert", "insert_ack", "update", "update_ack", "lookup",
    "lookup_reply", "handoff", "handoff_ack", "journal_block", "journal_ack", "subscribe",
    "publish", "aggregate", "aggregate_reply", "index", "index_reply", "leave", "unused",
]
SCENARIO = """\
[run]
duration_s = 600
seed = 7

[overlay]
peers = 64

[[failure]]
at_s = 100
kind = "crash"
peers = { count = 3 }

[[failure]]
at_s = 250
kind = "loss"
rate = 0.3
duration_s = 40
"""


def _strings(values):
    return np.array(values, dtype=h5py.string_dtype("utf-8"))


def _table(f, path, columns):
    group = f.create_group(path)
    for name, values in columns.items():
        if len(values) and isinstance(values[0], str) or (
            not len(values) and name in ("kind", "error", "key")
        ):
            group.create_dataset(name, data=_strings(list(values)))
        else:
            group.create_dataset(name, data=np.asarray(values))
    return group


def write_run(path, *, lookups=2000, ops=500, events=True, overlay=True, seed=1):
    """A synthetic run file. Zero lookups/ops or events=False/overlay=False leave those
    tables present but empty, as the simulator writes them."""
    rng = np.random.default_rng(seed)
    with h5py.File(path, "w") as f:
        f.attrs["scenario"] = SCENARIO
        f.attrs["seed"] = np.uint64(7)
        f.attrs["backend"] = "sim"
        f.attrs["version"] = "0.1.0"
        f.attrs["wall_time_s"] = 3.5
        f.attrs["duration_s"] = 600.0
        f.attrs["peers"] = np.int64(64)

        t = np.arange(10.0, 601.0, 10.0)
        n = len(t)
        alive = np.full(n, 64)
        alive[(t >= 100) & (t < 400)] = 61
        under = np.where((t >= 100) & (t < 200), 12, 0)
        under[(t >= 250) & (t < 300)] = 4
        ts = {
            "t_s": t,
            "peers_alive": alive,
            "keys": np.linspace(0, 3000, n).astype(np.int64),
            "replicas_min": np.where(under > 0, 2, 3),
            "replicas_mean": np.where(under > 0, 2.9, 3.0),
            "under_replicated_keys": under,
            "divergent_keys": under // 2,
            "lost_updates": np.where(t >= 120, 1, 0),
        }
        total_msgs = np.zeros(n, dtype=np.int64)
        total_bytes = np.zeros(n, dtype=np.int64)
        for i, kind in enumerate(MESSAGE_KINDS):
            scale = 0 if kind == "unused" else 10 ** (i % 5)
            msgs = rng.poisson(scale, n).astype(np.int64)
            ts["msgs_" + kind] = msgs
            ts["bytes_" + kind] = msgs * (40 + 10 * i)
            total_msgs += msgs
            total_bytes += msgs * (40 + 10 * i)
        ts["msgs_sent"] = total_msgs
        ts["bytes_sent"] = total_bytes
        _table(f, "timeseries", ts)

        issue = np.sort(rng.uniform(0, 600, lookups))
        latency = rng.lognormal(np.log(0.06), 0.8, lookups)
        ok = rng.random(lookups) < 0.95
        done = np.where(ok, issue + latency, np.nan)
        _table(f, "lookups", {
            "t_issue_s": issue,
            "t_done_s": done,
            "hops": rng.integers(0, 9, lookups),
            "ok": ok.astype(np.int8),
            "correct": (ok & (rng.random(lookups) < 0.99)).astype(np.int8),
        })

        op_issue = np.sort(rng.uniform(0, 600, ops))
        op_ok = rng.random(ops) < 0.9
        errors = np.where(op_ok, "", np.where(rng.random(ops) < 0.7, "timeout", "no quorum"))
        _table(f, "ops", {
            "kind": list(np.where(rng.random(ops) < 0.2, "insert", "update")),
            "t_issue_s": op_issue,
            "t_ack_s": np.where(op_ok, op_issue + rng.lognormal(np.log(0.08), 0.5, ops), np.nan),
            "ok": op_ok.astype(np.int8),
            "error": list(errors),
            "entries": np.ones(ops, dtype=np.int64),
        })

        if events:
            ev = [(100.0, "crash", 3), (100.0, "crash", 4), (100.0, "crash", 5),
                  (150.0, "partition", -1), (180.0, "heal", -1), (250.0, "loss", -1),
                  (320.0, "join", 64), (330.0, "leave", 2), (350.0, "depart", 9),
                  (400.0, "recover", 3), (400.0, "recover", 4), (400.0, "recover", 5)]
        else:
            ev = []
        _table(f, "events", {
            "t_s": np.array([e[0] for e in ev], dtype=float),
            "kind": [e[1] for e in ev],
            "peer": np.array([e[2] for e in ev], dtype=np.int64),
        })

        _table(f, "final/peers", {
            "peer": np.arange(64), "alive": np.ones(64, dtype=np.int8),
            "keys": rng.integers(100, 200, 64), "entries": rng.integers(500, 900, 64),
            "msgs_sent": rng.integers(1000, 2000, 64), "bytes_sent": rng.integers(10**5, 10**6, 64),
        })
        _table(f, "final/keys", {
            "key": [f"{k:016x}" for k in range(20)],
            "acked_updates": np.full(20, 5), "replicas": np.full(20, 3),
            "holders": np.full(20, 3), "lost_updates": np.zeros(20, dtype=np.int64),
        })

        snapshots = 3 if overlay else 0
        _table(f, "overlay", {
            "t_s": np.linspace(0, 600, snapshots),
            "nodes": np.full(snapshots, 64), "edges": np.full(snapshots, 64 * 12),
            "strongly_connected_components": np.ones(snapshots, dtype=np.int64),
            "largest_component": np.full(snapshots, 64), "hop_diameter": np.full(snapshots, 6),
            "sampled_sources": np.full(snapshots, 64),
        })
        rows = [(s, d, c) for s in range(snapshots) for d, c in ((10, 8), (12, 40), (14, 16))]
        _table(f, "overlay_in_degree", {
            "snapshot": np.array([r[0] for r in rows], dtype=np.int64),
            "in_degree": np.array([r[1] for r in rows], dtype=np.int64),
            "nodes": np.array([r[2] for r in rows], dtype=np.int64),
        })

        summary = f.create_group("summary")
        summary.attrs["convergence_time_s"] = 35.0
        summary.attrs["lost_updates"] = np.int64(1)
        summary.attrs["lookup_success"] = float(ok.mean()) if lookups else 0.0
        summary.attrs["lookup_p50_ms"] = 60.0
        summary.attrs["lookup_p99_ms"] = 400.0
        summary.attrs["mean_hops"] = 4.0
        summary.attrs["msgs_per_peer_s"] = 12.5
    return path


def run_plots(run_path, out_dir):
    env = dict(os.environ, PYTHONPATH=ANALYSIS, MPLBACKEND="Agg")
    return subprocess.run(
        ["/usr/bin/python3", "-m", "kittengrad.plots", str(run_path), str(out_dir)],
        capture_output=True, text=True, env=env, timeout=300,
    )


def written_pngs(result):
    """The printed paths, each checked to exist and be a PNG of some substance."""
    paths = [line for line in result.stdout.splitlines() if line.strip()]
    for path in paths:
        assert os.path.isfile(path), path
        with open(path, "rb") as f:
            assert f.read(8) == PNG_MAGIC, path
        assert os.path.getsize(path) > 5000, path
    return {os.path.basename(p) for p in paths}


def test_full_run_draws_every_plot(tmp_path):
    run = write_run(tmp_path / "run.h5")
    result = run_plots(run, tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert written_pngs(result) == ALL_PLOTS
    assert "Traceback" not in result.stderr


def test_empty_tables_are_skipped_with_a_note(tmp_path):
    run = write_run(tmp_path / "run.h5", lookups=0, ops=0, events=False, overlay=False)
    result = run_plots(run, tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert written_pngs(result) == {"replication.png", "peers.png", "messages_by_kind.png"}
    for name in ("lookup_latency_cdf.png", "hops.png", "writes.png", "overlay_in_degree.png"):
        assert f"skipped {name}" in result.stderr
    assert "Traceback" not in result.stderr


def test_lookups_that_all_failed_skip_the_cdf_but_keep_the_hops(tmp_path):
    path = write_run(tmp_path / "run.h5", lookups=300)
    with h5py.File(path, "r+") as f:
        f["lookups/ok"][...] = 0
        f["lookups/t_done_s"][...] = np.nan
        f["ops/ok"][...] = 0
        f["ops/t_ack_s"][...] = np.nan
    result = run_plots(path, tmp_path / "out")
    assert result.returncode == 0, result.stderr
    names = written_pngs(result)
    assert "lookup_latency_cdf.png" not in names
    assert {"hops.png", "writes.png"} <= names
    assert "skipped lookup_latency_cdf.png" in result.stderr


def test_partition_never_healed_and_missing_tables(tmp_path):
    path = tmp_path / "run.h5"
    with h5py.File(path, "w") as f:
        f.create_group("timeseries")
        f["timeseries"].create_dataset("t_s", data=np.array([10.0, 20.0, 30.0]))
        f["timeseries"].create_dataset("peers_alive", data=np.array([5, 4, 4]))
        f["timeseries"].create_dataset("under_replicated_keys", data=np.array([0, 3, 3]))
        f.create_group("events")
        f["events"].create_dataset("t_s", data=np.array([15.0]))
        f["events"].create_dataset("kind", data=_strings(["partition"]))
        f["events"].create_dataset("peer", data=np.array([-1]))
    result = run_plots(path, tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert written_pngs(result) == {"replication.png", "peers.png"}


def test_many_lookups_plot_quickly(tmp_path):
    run = write_run(tmp_path / "run.h5", lookups=1_000_000, ops=200_000)
    result = run_plots(run, tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert written_pngs(result) == ALL_PLOTS


def test_read_run_decodes_strings_and_attributes(tmp_path):
    run = plots.read_run(str(write_run(tmp_path / "run.h5", lookups=10, ops=10)))
    assert run["attrs"]["backend"] == "sim"
    assert run["attrs"]["seed"] == 7
    assert "[[failure]]" in run["attrs"]["scenario"]
    assert set(run["ops"]["kind"]) <= {"insert", "update"}
    assert isinstance(run["events"]["kind"].iloc[0], str)
    assert run["lookups"]["t_done_s"].isna().sum() == (run["lookups"]["ok"] == 0).sum()
    assert len(run["final_peers"]) == 64 and len(run["final_keys"]) == 20
    assert run["summary"]["convergence_time_s"] == 35.0
    assert "find_successor" in plots.message_kinds(run["timeseries"])
    assert "sent" not in plots.message_kinds(run["timeseries"])


def test_spans_and_quiet_phase():
    import pandas as pd

    events = pd.DataFrame({"t_s": [10.0, 20.0, 30.0, 50.0],
                           "kind": ["crash", "partition", "heal", "loss"],
                           "peer": [1, -1, -1, -1]})
    scenario = '[[failure]]\nat_s = 50\nkind = "loss"\nrate = 0.3\nduration_s = 15\n'
    spans = plots.event_spans(events, {"scenario": scenario}, 100.0)
    assert spans == [("partition", 20.0, 30.0, True), ("loss", 50.0, 65.0, True)]
    assert plots.quiet_start(events, spans) == 65.0
    unhealed = events[events["kind"] != "heal"]
    spans = plots.event_spans(unhealed, {}, 100.0)
    assert ("partition", 20.0, 100.0, False) in spans
    assert plots.quiet_start(unhealed, spans) is None


@pytest.mark.parametrize("content", [None, b"not an hdf5 file\n", "hdf5-no-tables",
                                     "ragged-columns", "truncated"])
def test_bad_file_exits_2_with_a_message(tmp_path, content):
    path = tmp_path / "bad.h5"
    if content == "hdf5-no-tables":
        with h5py.File(path, "w") as f:
            f.create_group("something_else")
    elif content == "ragged-columns":
        with h5py.File(path, "w") as f:
            f.create_group("lookups")
            f["lookups"].create_dataset("t_issue_s", data=np.zeros(3))
            f["lookups"].create_dataset("ok", data=np.zeros(2))
    elif content == "truncated":
        whole = write_run(tmp_path / "whole.h5").read_bytes()
        path.write_bytes(whole[: len(whole) // 2])
    elif content is not None:
        path.write_bytes(content)
    result = run_plots(path, tmp_path / "out")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "kittengrad.plots:" in result.stderr and str(path) in result.stderr
    assert "Traceback" not in result.stderr


def test_wrong_arguments_exit_2_with_usage(tmp_path):
    env = dict(os.environ, PYTHONPATH=ANALYSIS)
    result = subprocess.run(["/usr/bin/python3", "-m", "kittengrad.plots", "only-one"],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 2
    assert "usage:" in result.stderr


def test_importing_the_package_stays_light():
    code = ("import sys, kittengrad; "
            "heavy = [m for m in ('numpy', 'pandas', 'h5py', 'matplotlib') if m in sys.modules]; "
            "print(heavy)")
    env = dict(os.environ, PYTHONPATH=ANALYSIS)
    result = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, text=True,
                            env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
