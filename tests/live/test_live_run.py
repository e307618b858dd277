"""`kittengrad live`: a scenario on 16 real peer processes, into the simulator's run file.

Runs tests/live/live-short.toml (60 s: a crash of two ring neighbours that recover, a
partition that heals, a quiet end) and judges what a user reads: the run file's datasets
and `backend = "live"`, the end-of-run census (nothing lost, under-replicated or
divergent), the history checker, lookups outside the partition window, `kittengrad
report` on the file, and that no peer process outlives the run.
"""
import os
import subprocess
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
BINARY = str(Path(os.environ.get("KG_BINARY", ROOT / "build" / "kittengrad")).resolve())
SCENARIO = Path(__file__).resolve().parent / "live-short.toml"


def peer_pids(folder):
    """PIDs of processes whose command line names the run's folder."""
    out = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(folder) in cmd and " peer " in cmd:
            out.append(int(proc.name))
    return out


def test_live_run_writes_the_simulators_run_file(tmp_path):
    out = tmp_path / "live.h5"
    keep = tmp_path / "peers"
    r = subprocess.run([BINARY, "live", str(SCENARIO), "--out", str(out), "--keep", str(keep)],
                       capture_output=True, text=True, timeout=150)
    assert r.returncode == 0, r.stderr + r.stdout
    assert peer_pids(keep) == [], "peer processes outlived the run"
    assert "not honoured live: network.bandwidth_mbps" in r.stderr, r.stderr

    with h5py.File(out, "r") as f:
        assert f.attrs["backend"] in (b"live", "live")
        for group in ("timeseries", "lookups", "ops", "events", "final/peers", "final/keys"):
            assert group in f, group
        ts = {c: f["timeseries"][c][()] for c in f["timeseries"]}
        lookups = {c: f["lookups"][c][()] for c in f["lookups"]}
        events = {c: f["events"][c][()] for c in f["events"]}
        summary = dict(f["summary"].attrs)
    kinds = [k.decode() if isinstance(k, bytes) else k for k in events["kind"]]
    assert kinds.count("crash") == 2 and kinds.count("recover") == 2, kinds
    assert "partition" in kinds and "heal" in kinds, kinds
    # The end-of-run census, as the simulator's oracle measures it.
    assert ts["lost_updates"][-1] == 0
    assert ts["under_replicated_keys"][-1] == 0
    assert ts["divergent_keys"][-1] == 0
    assert ts["keys"][-1] > 100
    assert ts["peers_alive"][-1] == 16
    assert summary["history_lost"] == 0 and summary["history_phantoms"] == 0
    assert ts["msgs_sent"].sum() > 0
    assert any(c.startswith("msgs_") and c != "msgs_sent" for c in ts), sorted(ts)
    # Lookups away from the perturbations: answered at least 98%. Each crash and recovery
    # costs a few seconds of failed requests (failure detection, then a restarted process's
    # new sessions and ring position), the partition all of its window; a minute-long run
    # is mostly such windows, so they are left out here (live-16's 5 minutes are judged
    # whole outside its partition in docs/VALIDATION.md).
    issue, done = lookups["t_issue_s"], lookups["t_done_s"]
    outside = np.ones(len(issue), dtype=bool)
    t_part = float(events["t_s"][kinds.index("partition")])
    t_heal = float(events["t_s"][kinds.index("heal")])
    outside &= (done < t_part) | (issue > t_heal + 5)
    for t, k in zip(events["t_s"], kinds):
        if k in ("crash", "recover"):
            outside &= (done < t) | (issue > t + 8)
    assert outside.sum() > 100, outside.sum()
    assert lookups["ok"][outside].mean() >= 0.98, lookups["ok"][outside].mean()
    assert lookups["correct"][outside].mean() >= 0.98

    rep = subprocess.run([BINARY, "report", str(out), "--out", str(tmp_path / "report")],
                         capture_output=True, text=True, timeout=120)
    assert rep.returncode == 0, rep.stderr
    assert "live backend" in rep.stdout
    assert list((tmp_path / "report").glob("*.png")), rep.stdout
