"""Live peer daemons on loopback: `kittengrad peer`, `stats` and `health`, end to end.

Starts 4 `kittengrad peer` processes on 127.0.0.1 with free ports in a temp folder, waits
until `health` says each is healthy, reads `stats --json`, throws malformed datagrams at
one peer (counted, and it keeps serving), sends SIGTERM to one (its log shows the leave,
exit 0), and checks the operator commands' failures (unreachable peer, bad usage, bad
config). Every process started is stopped by its PID in teardown, also on failure.
"""
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BINARY = str(Path(os.environ.get("KG_BINARY", ROOT / "build" / "kittengrad")).resolve())
PEERS = 4
DEADLINE_S = 40  # for the ring to become healthy; the whole file stays under 60 s


def free_udp_ports(n):
    """Ports free for UDP now (the sockets are closed just before the peers bind)."""
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def run(*args, timeout=20):
    return subprocess.run([BINARY, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def write_config(path, port, bootstrap, extra=""):
    path.write_text(
        f'listen = "127.0.0.1:{port}"\n'
        f'identity = "peer-{port}.key"\n'
        f'data_dir = "data-{port}"\n'
        f'namespaces = ["default"]\n'
        f'bootstrap = {json.dumps(bootstrap)}\n'
        f'sync = "normal"\n'
        f'log_level = "info"\n'
        f'{extra}'
        f'[overlay]\n'
        f'stabilize_interval_s = 0.3\n'
        f'check_predecessor_interval_s = 0.3\n'
        f'fix_fingers_interval_s = 1\n'
        f'request_timeout_ms = 200\n'
        f'journal_block_interval_s = 1\n')


class Ring:
    def __init__(self, tmp_path):
        self.dir = tmp_path
        self.procs = {}  # port -> Popen
        self.logs = {}

    def start(self, port, bootstrap):
        cfg = self.dir / f"peer-{port}.toml"
        write_config(cfg, port, bootstrap)
        log = open(self.dir / f"peer-{port}.log", "w")
        self.logs[port] = self.dir / f"peer-{port}.log"
        self.procs[port] = subprocess.Popen([BINARY, "peer", "--config", str(cfg)],
                                            stdout=subprocess.DEVNULL, stderr=log,
                                            cwd=self.dir)
        log.close()

    def stop_all(self):
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()  # by PID (Popen.kill signals proc.pid)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    def log_events(self, port):
        return [json.loads(line) for line in self.logs[port].read_text().splitlines() if line]


@pytest.fixture
def ring(tmp_path):
    r = Ring(tmp_path)
    try:
        yield r
    finally:
        r.stop_all()


def wait_healthy(ports, deadline):
    last = {}
    while time.monotonic() < deadline:
        last = {p: run("health", "--peer", f"127.0.0.1:{p}", "--json", "--timeout-ms", 500)
                for p in ports}
        if all(r.returncode == 0 for r in last.values()):
            return {p: json.loads(r.stdout) for p, r in last.items()}
        time.sleep(0.3)
    pytest.fail("ring not healthy in time: " +
                "; ".join(f"{p}: rc={r.returncode} {r.stdout.strip()} {r.stderr.strip()}"
                          for p, r in last.items()))


def test_ring_of_four_is_healthy_counts_garbage_and_leaves_on_sigterm(ring):
    start = time.monotonic()
    ports = free_udp_ports(PEERS)
    ring.start(ports[0], [])
    for p in ports[1:]:
        ring.start(p, [f"127.0.0.1:{ports[0]}"])

    health = wait_healthy(ports, start + DEADLINE_S)
    for p, h in health.items():
        assert h["healthy"] is True and h["peer"] == f"127.0.0.1:{p}"
        assert h["namespaces"]["default"]["problems"] == []
        assert "3 of 3 replicas" in h["namespaces"]["default"]["notes"]

    # The successors of the peers, taken together, form one cycle through all of them.
    stats = {}
    for p in ports:
        r = run("stats", "--peer", f"127.0.0.1:{p}", "--json")
        assert r.returncode == 0, r.stderr
        stats[p] = json.loads(r.stdout)
    succ = {p: stats[p]["ns"]["default"]["successor"][0] for p in ports}
    seen, at = set(), f"127.0.0.1:{ports[0]}"
    for _ in ports:
        seen.add(at)
        at = succ[int(at.rsplit(":", 1)[1])]
    assert seen == {f"127.0.0.1:{p}" for p in ports} and at == f"127.0.0.1:{ports[0]}"
    s0 = stats[ports[0]]
    for key in ["bad_signatures", "timeouts", "entries_applied", "overloaded"]:
        assert key in s0["counters"]
    for key in ["writes", "reads", "pushes", "pending", "persists"]:
        assert key in s0["ns"]["default"]["tables"]
    assert s0["transport"]["datagrams_in"] > 0 and s0["peer"]["uptime_s"] >= 0

    # Malformed datagrams from a plain socket: dropped, counted by reason, and the peer
    # keeps answering.
    target = ("127.0.0.1", ports[1])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        # Version 1 is the top two bits 01; kind 63 (0x7f) is the admin kind.
        for payload in [b"",                          # empty
                        b"\x00garbage",               # version 0
                        bytes([0x40 | 60]),           # version 1, no such kind
                        bytes([0x40]) + b"\x01",      # find_successor, truncated
                        b"\x7f" * 40,                 # admin kind, no such tag
                        bytes([0x7f, 9]),             # the same, short
                        b"\x41" * 65000]:             # longer than any peer sends
            s.sendto(payload, target)
    time.sleep(0.3)
    r = run("stats", "--peer", f"127.0.0.1:{ports[1]}", "--json")
    assert r.returncode == 0, r.stderr
    stats = json.loads(r.stdout)
    dropped = stats["transport"]["dropped"]
    # Outside an authenticated session nothing reaches the codec: the session layer
    # refuses the five non-admin datagrams (by its own reasons); admin ones are decoded.
    assert dropped["session"] == 5 and dropped["admin_malformed"] == 2, dropped
    assert sum(stats["session"]["dropped"].values()) >= 5, stats["session"]
    assert run("health", "--peer", f"127.0.0.1:{ports[1]}").returncode == 0

    # SIGTERM: the peer leaves, says so in its log, exits 0; the rest heal.
    leaver = ports[2]
    proc = ring.procs[leaver]
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=15) == 0
    events = [e["event"] for e in ring.log_events(leaver)]
    assert "leave_started" in events and "left" in events, events
    for e in ring.log_events(leaver):
        assert {"ts", "level", "event"} <= e.keys()
    rest = [p for p in ports if p != leaver]
    wait_healthy(rest, time.monotonic() + 20)

    # The peer that left is unreachable now: named, exit 1 within the timeout.
    t0 = time.monotonic()
    r = run("health", "--peer", f"127.0.0.1:{leaver}", "--timeout-ms", 600)
    assert r.returncode == 1 and f"127.0.0.1:{leaver}" in r.stderr
    assert time.monotonic() - t0 < 5
    r = run("stats", "--peer", f"127.0.0.1:{leaver}", "--timeout-ms", 300)
    assert r.returncode == 1 and f"127.0.0.1:{leaver}" in r.stderr
    assert time.monotonic() - start < 60


def test_bad_usage_and_bad_config_exit_2(tmp_path):
    assert run("stats", "--peer", "nonsense").returncode == 2
    assert run("health", "--peer", "127.0.0.1:0").returncode == 2
    assert run("health").returncode == 2
    cfg = tmp_path / "bad.toml"
    cfg.write_text('listen = "127.0.0.1:7400"\nidentity = "k"\ndata_dir = "d"\nsync = "fast"\n')
    r = run("peer", "--config", cfg)
    assert r.returncode == 2 and f"{cfg}:4: sync" in r.stderr, r.stderr
    cfg.write_text('listen = "127.0.0.1:7400"\nidentity = "k"\ndata_dir = "d"\n'
                   '[overlay]\npeers = 10\n')
    r = run("peer", "--config", cfg)
    assert r.returncode == 2 and f"{cfg}:5: overlay.peers" in r.stderr, r.stderr


def test_taken_port_is_refused_with_exit_1(ring):
    port = free_udp_ports(1)[0]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", port))
        ring.start(port, [])
        proc = ring.procs[port]
        assert proc.wait(timeout=10) == 1
    events = ring.log_events(port)
    assert events[-1]["event"] == "listen_failed" and str(port) in events[-1]["error"]


def test_client_commands_and_subscribe(ring, tmp_path):
    """insert, update, lookup, route, insert --batch and subscribe, as a user runs them:
    the JSON shapes and exit codes of DESIGN.md, the blockstore, and a journal followed
    to its end and resumed from a height."""
    ports = free_udp_ports(3)
    ring.start(ports[0], [])
    for p in ports[1:]:
        ring.start(p, [f"127.0.0.1:{ports[0]}"])
    wait_healthy(ports, time.monotonic() + DEADLINE_S)
    peer = f"127.0.0.1:{ports[1]}"
    home = ["--identity", tmp_path / "me.key"]
    blocks = ["--blocks", tmp_path / "blocks"]
    record = tmp_path / "record.txt"
    record.write_text("a record of kittengrad\n")

    r = run("insert", "--peer", peer, "--record", record, *home, *blocks, "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert list(out) == ["canonical", "update", "acked"] and out["acked"] is True
    canonical = out["canonical"]
    assert (tmp_path / "blocks" / canonical).read_bytes() == record.read_bytes()
    assert (tmp_path / "me.key").stat().st_mode & 0o777 == 0o600

    update = tmp_path / "update.txt"
    update.write_text("an update\n")
    r = run("update", canonical, "--peer", f"127.0.0.1:{ports[2]}", "--record", update,
            *home, *blocks, "--json")
    assert r.returncode == 0, r.stderr
    updated = json.loads(r.stdout)["update"]

    r = run("lookup", canonical, "--peer", f"127.0.0.1:{ports[0]}", *home, "--json")
    assert r.returncode == 0, r.stderr
    looked = json.loads(r.stdout)
    assert looked["canonical"] == canonical
    assert [u["cid"] for u in looked["updates"]] == [canonical, updated]
    assert all(set(u) == {"cid", "author", "timestamp_ms"} for u in looked["updates"])

    r = run("route", canonical, "--peer", peer, *home)
    assert r.returncode == 0 and sorted(r.stdout.split()) == sorted(f"127.0.0.1:{p}" for p in ports)

    batch = tmp_path / "batch.jsonl"
    lines = []
    for i in range(40):
        (tmp_path / f"b{i}").write_text(f"batch record {i}")
        lines.append(json.dumps({"record": f"b{i}"}))
    lines.append(json.dumps({"cid": updated, "canonical": canonical}))
    batch.write_text("\n".join(lines) + "\n")
    r = run("insert", "--batch", batch, "--peer", peer, *home, *blocks, "--json")
    assert r.returncode == 0, r.stderr
    results = [json.loads(l) for l in r.stdout.splitlines()]
    assert len(results) == 41 and all(x["acked"] for x in results)

    # Bad input exits 2 and names what is wrong; an unreachable peer exits 1 and is named.
    r = run("lookup", "not-a-cid", "--peer", peer, *home)
    assert r.returncode == 2 and "not-a-cid" in r.stderr
    batch.write_text('{"record": "b0", "colour": "red"}\n')
    r = run("insert", "--batch", batch, "--peer", peer, *home, *blocks)
    assert r.returncode == 2 and ":1:" in r.stderr and "colour" in r.stderr
    dead = free_udp_ports(1)[0]
    t0 = time.monotonic()
    r = run("lookup", canonical, "--peer", f"127.0.0.1:{dead}", *home, "--timeout-ms", 1500)
    assert r.returncode == 1 and f"127.0.0.1:{dead}" in r.stderr
    assert time.monotonic() - t0 < 5

    # Follow a journal to its end: every entry the peer journalled comes, in height order,
    # then the marker; resuming from a height prints only what follows it.
    # Blocks are cut every second (journal_block_interval_s): wait until the entries written
    # above (43 on this peer, a replica of every key) are all in blocks.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        st = json.loads(run("stats", "--peer", peer, "--json").stdout)["ns"]["default"]
        if st["journal"]["height"] > 0 and st["journal"]["pending"] == 0:
            break
        time.sleep(0.3)
    r = run("subscribe", "--peer", peer, "--until-caught-up", *home, timeout=30)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(l) for l in r.stdout.splitlines()]
    assert lines[-1]["caught_up"] is True
    blocks_seen = [l for l in lines if "entries" in l]
    heights = [b["height"] for b in blocks_seen]
    assert heights == list(range(1, len(heights) + 1)) and lines[-1]["height"] == heights[-1]
    seen = {(e["canonical"], e["update"]) for b in blocks_seen for e in b["entries"]}
    assert (canonical, updated) in seen and (canonical, canonical) in seen
    r = run("subscribe", "--peer", peer, "--until-caught-up", "--from", heights[-1], *home,
            timeout=30)
    again = [json.loads(l) for l in r.stdout.splitlines()]
    assert [b["height"] for b in again if "entries" in b] == [heights[-1]]


def test_prometheus_endpoint(ring, tmp_path):
    """metrics_listen serves the stats as Prometheus text, refreshed each second."""
    import urllib.request
    port = free_udp_ports(1)[0]
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        metrics_port = s.getsockname()[1]
    cfg = tmp_path / f"peer-{port}.toml"
    write_config(cfg, port, [], extra=f'metrics_listen = "127.0.0.1:{metrics_port}"\n')
    log = open(tmp_path / f"peer-{port}.log", "w")
    ring.logs[port] = tmp_path / f"peer-{port}.log"
    ring.procs[port] = subprocess.Popen([BINARY, "peer", "--config", str(cfg)],
                                        stdout=subprocess.DEVNULL, stderr=log, cwd=tmp_path)
    log.close()
    deadline = time.monotonic() + 20  # a lone peer: it created the ring, so it is joined
    text = ""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2) as r:
                text = r.read().decode()
            if 'kittengrad_joined{ns="default"} 1' in text:
                break
        except OSError:
            pass
        time.sleep(0.3)
    assert 'kittengrad_joined{ns="default"} 1' in text, text[:500]
    assert "kittengrad_transport_datagrams_in " in text
    assert "kittengrad_session_signatures_verified " in text


def free_udp6_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.bind(("::1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def test_ring_over_ipv6(ring, tmp_path):
    """Three peers on [::1]: the ring forms, health agrees, a client writes and reads."""
    ports = free_udp6_ports(3)
    for i, port in enumerate(ports):
        cfg = tmp_path / f"peer-{port}.toml"
        boot = [] if i == 0 else [f"[::1]:{ports[0]}"]
        write_config(cfg, port, boot)
        cfg.write_text(cfg.read_text().replace(f'listen = "127.0.0.1:{port}"',
                                               f'listen = "[::1]:{port}"'))
        log = open(tmp_path / f"peer-{port}.log", "w")
        ring.logs[port] = tmp_path / f"peer-{port}.log"
        ring.procs[port] = subprocess.Popen([BINARY, "peer", "--config", str(cfg)],
                                            stdout=subprocess.DEVNULL, stderr=log, cwd=tmp_path)
        log.close()
        if i == 0:
            time.sleep(0.3)
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if all(run("health", "--peer", f"[::1]:{p}", "--timeout-ms", 500).returncode == 0
               for p in ports):
            break
        time.sleep(0.3)
    r = run("health", "--peer", f"[::1]:{ports[1]}", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    stats = json.loads(run("stats", "--peer", f"[::1]:{ports[0]}", "--json").stdout)
    assert stats["ns"]["default"]["successor"][0].startswith("[::1]:")
    home = ["--identity", tmp_path / "me.key"]
    record = tmp_path / "r6"
    record.write_text("over IPv6")
    r = run("insert", "--peer", f"[::1]:{ports[2]}", "--record", record, *home,
            "--blocks", tmp_path / "blocks", "--json")
    assert r.returncode == 0, r.stderr
    canonical = json.loads(r.stdout)["canonical"]
    r = run("lookup", canonical, "--peer", f"[::1]:{ports[0]}", *home, "--json")
    assert r.returncode == 0, r.stderr
    assert [u["cid"] for u in json.loads(r.stdout)["updates"]] == [canonical]
    r = run("route", canonical, "--peer", f"[::1]:{ports[1]}", *home)
    assert sorted(r.stdout.split()) == sorted(f"[::1]:{p}" for p in ports)
