#!/usr/bin/python3
"""Live kittengrad peers against OpenDHT on loopback, in one run (issue 15, acceptance 5).

    /usr/bin/python3 bench/live/run_bench.py [--build build] [--out DIR] [--sizes 16,32]

For each ring size N: N `kittengrad peer` processes (r=3, W=2, sync="full", default
overlay keys but shorter stabilize intervals so the ring forms quickly) until
`kittengrad health` is 0 for every peer; then kg_live_load writes (C=1, C=16), lookups
(C=1, C=16) and a batched ingest; peak RSS per peer (VmHWM) once the ring stores ~100,000
entries, and idle CPU per peer over 10 s without load. Then N `dhtnode` processes on
127.0.0.1 (a private network id, bootstrapped to the first, no public bootstrap, rate
limits lifted: see opendht_side) and an OpenDHT client per phase (this script,
`dht-load`, a DhtRunner in its own process, alive until the end of the OpenDHT side)
putting and getting values of the same size at the same concurrency. Writes DIR/results.json and DIR/results.md (ratios
against the issue's targets).

Every process is started here and stopped by its PID (SIGKILL) in a finally block, also
on failure or Ctrl-C. Each phase has a timeout; the whole run stops starting phases after
--budget-s. Loopback only.
"""
import argparse
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TICKS = os.sysconf("SC_CLK_TCK")
ENTRY_WIRE_BYTES = 176  # kEntryWireBytes: what one kittengrad write stores (entry.h)


# ---------------------------------------------------------------- processes

class Procs:
    """Processes started by this run; stop_all() kills each by its PID."""

    def __init__(self):
        self.procs = []

    def start(self, argv, log_path, cwd=None):
        log = open(log_path, "ab")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                             cwd=cwd, start_new_session=True)
        log.close()
        self.procs.append(p)
        return p

    def stop_all(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                print(f"pid {p.pid} did not exit after SIGKILL", file=sys.stderr)
        self.procs = []


def free_udp_ports(n):
    """n distinct free UDP ports on 127.0.0.1 (all held while choosing)."""
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def cpu_ticks(pid):
    """utime + stime of a process, in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of stat(5)


def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def summary(values):
    if not values:
        return {}
    return {"mean": round(statistics.mean(values), 2), "median": round(statistics.median(values), 2),
            "max": round(max(values), 2), "min": round(min(values), 2)}


def idle_cpu(pids, seconds):
    """CPU % of one core used by each process over `seconds` with no load."""
    before = {p: cpu_ticks(p) for p in pids}
    time.sleep(seconds)
    return [100.0 * (cpu_ticks(p) - before[p]) / TICKS / seconds for p in pids]


def children_cpu_s():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def udp_counters():
    """The kernel's UDP counters (all of this machine's sockets: other work counts too)."""
    with open("/proc/net/snmp") as f:
        rows = [line.split()[1:] for line in f if line.startswith("Udp:")]
    return dict(zip(rows[0], (int(x) for x in rows[1])))


def run_phase(name, argv, timeout_s, server_pids):
    """Runs a load client to completion; its last stdout line is a JSON object. Adds the CPU
    the servers and the client used during the phase (the split a profile starts from)."""
    servers0 = sum(cpu_ticks(p) for p in server_pids)
    client0 = children_cpu_s()
    udp0 = udp_counters()
    started = time.monotonic()
    print(f"  {name}: {' '.join(argv)}", flush=True)
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s)
        lines = [l for l in done.stdout.splitlines() if l.startswith("{")]
        result = json.loads(lines[-1]) if lines else {"error": "no JSON", "stderr": done.stderr[-2000:]}
        result["exit"] = done.returncode
        if done.returncode != 0 and done.stderr:
            result["stderr"] = done.stderr[-1000:]
    except subprocess.TimeoutExpired:  # subprocess.run killed the client (its PID)
        result = {"error": f"timed out after {timeout_s} s"}
    wall = time.monotonic() - started
    result["wall_s"] = round(wall, 2)
    result["servers_cpu_s"] = round((sum(cpu_ticks(p) for p in server_pids) - servers0) / TICKS, 2)
    result["client_process_cpu_s"] = round(children_cpu_s() - client0, 2)
    udp1 = udp_counters()
    # Datagrams the kernel dropped for a full receive buffer during the phase.
    result["udp_rcvbuf_errors"] = udp1["RcvbufErrors"] - udp0["RcvbufErrors"]
    lat = result.get("latency_ms", {})
    print(f"    -> {result.get('ops_per_s')} ops/s, {result.get('entries_per_s', '')} entries/s, "
          f"p50 {lat.get('p50')} p99 {lat.get('p99')} ms, failed {result.get('failed')}, "
          f"cpu servers {result['servers_cpu_s']} s client {result.get('client_cpu_s', result['client_process_cpu_s'])} s "
          f"wall {result['wall_s']} s, udp rcvbuf drops {result['udp_rcvbuf_errors']} {result.get('error', '')}",
          flush=True)
    return result


def read_line(proc, timeout_s):
    """One line of a child's stdout within timeout_s, or None."""
    import selectors
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    ready = sel.select(timeout_s)
    sel.close()
    return proc.stdout.readline() if ready else None


def run_client_phase(name, client, phase, timeout_s, server_pids):
    """A phase of the long-lived OpenDHT client: the same figures as run_phase, the client's
    CPU from its /proc stat."""
    servers0 = sum(cpu_ticks(p) for p in server_pids)
    client0 = cpu_ticks(client.pid)
    udp0 = udp_counters()
    started = time.monotonic()
    print(f"  {name}: {json.dumps(phase)}", flush=True)
    client.stdin.write(json.dumps(phase) + "\n")
    client.stdin.flush()
    line = read_line(client, timeout_s)
    result = json.loads(line) if line else {"error": f"no answer within {timeout_s} s"}
    result["wall_s"] = round(time.monotonic() - started, 2)
    result["servers_cpu_s"] = round((sum(cpu_ticks(p) for p in server_pids) - servers0) / TICKS, 2)
    result["client_cpu_s"] = round((cpu_ticks(client.pid) - client0) / TICKS, 2)
    result["udp_rcvbuf_errors"] = udp_counters()["RcvbufErrors"] - udp0["RcvbufErrors"]
    lat = result.get("latency_ms", {})
    print(f"    -> {result.get('ops_per_s')} ops/s, p50 {lat.get('p50')} p99 {lat.get('p99')} ms, "
          f"failed {result.get('failed')}, cpu servers {result['servers_cpu_s']} s client {result['client_cpu_s']} s "
          f"wall {result['wall_s']} s, udp rcvbuf drops {result['udp_rcvbuf_errors']} {result.get('error', '')}",
          flush=True)
    return result


def load_average():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


# ---------------------------------------------------------------- kittengrad

PEER_CONFIG = """listen = "127.0.0.1:{port}"
identity = "peer-{i}.key"
data_dir = "data-{i}"
namespaces = ["default"]
bootstrap = {bootstrap}
sync = "{sync}"
log_level = "info"
[overlay]
# r, W and every other key at their defaults; stabilization is faster so that the ring
# forms within seconds (also what the idle CPU is measured with).
replication = 3
write_quorum = 2
stabilize_interval_s = 0.5
check_predecessor_interval_s = 0.5
fix_fingers_interval_s = 1
"""


def kittengrad_side(args, n, work, procs, deadline, sync="full"):
    kg = os.path.join(args.build, "kittengrad")
    load = os.path.join(args.build, "bench", "kg_live_load")
    d = tempfile.mkdtemp(prefix=f"kg-{n}-{sync}-", dir=work)
    ports = free_udp_ports(n)
    hosts = [f"127.0.0.1:{p}" for p in ports]
    for i, port in enumerate(ports):
        boot = "[]" if i == 0 else f'["{hosts[0]}"]'
        with open(os.path.join(d, f"peer-{i}.toml"), "w") as f:
            f.write(PEER_CONFIG.format(port=port, i=i, bootstrap=boot, sync=sync))
    out = {"peers": n, "sync": sync,
           "config": PEER_CONFIG.format(port="PORT", i="I", bootstrap='["FIRST"]', sync=sync)}
    pids = []
    started = time.monotonic()
    for i in range(n):
        p = procs.start([kg, "peer", "--config", f"peer-{i}.toml"], os.path.join(d, f"peer-{i}.log"), cwd=d)
        pids.append(p.pid)
        if i == 0:
            time.sleep(0.5)
    # Healthy: every peer's `kittengrad health` exits 0 in the same sweep.
    healthy = False
    while time.monotonic() - started < args.form_timeout_s:
        time.sleep(1)
        dead = [i for i, p in enumerate(procs.procs[-n:]) if p.poll() is not None]
        if dead:
            raise RuntimeError(f"kittengrad peers {dead} exited; logs in {d}")
        healthy = all(subprocess.run([kg, "health", "--timeout-ms", "500", "--peer", h],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
                      for h in hosts)
        if healthy:
            break
    out["formed_s"] = round(time.monotonic() - started, 1)
    out["healthy"] = healthy
    print(f"kittengrad N={n} sync={sync}: healthy={healthy} after {out['formed_s']} s", flush=True)
    if not healthy:
        raise RuntimeError(f"kittengrad ring of {n} not healthy within {args.form_timeout_s} s; logs in {d}")

    peers_arg = ",".join(hosts)
    saved = os.path.join(d, "canonicals.txt")
    base = [load, "--peers", peers_arg, "--record-bytes", str(args.record_bytes), "--json",
            "--replication", "3", "--timeout-s", "30"]
    phases = [
        ("write_c1", ["--mode", "write", "--ops", str(args.ops_c1), "--concurrency", "1"]),
        ("write_c16", ["--mode", "write", "--ops", str(args.ops_c16), "--concurrency", "16", "--save", saved]),
        ("lookup_c1", ["--mode", "lookup", "--ops", str(args.ops_c1), "--concurrency", "1", "--load", saved]),
        ("lookup_c16", ["--mode", "lookup", "--ops", str(args.ops_c16), "--concurrency", "16", "--load", saved]),
        # Batched ingest twice: in 1,200-byte datagrams (what crosses the Internet
        # unfragmented) and in 65,000-byte ones (loopback carries them whole); with --perf a
        # third, shorter one under `perf record` (its figures are not the ones reported).
        ("batch", ["--mode", "batch", "--ops", str(args.batch_entries), "--concurrency",
                   str(args.batch_window), "--batch-entries", str(args.batch_k), "--max-datagram-bytes", "1200"]),
        ("batch_64k", ["--mode", "batch", "--ops", str(args.batch_entries), "--concurrency",
                       str(args.batch_window), "--batch-entries", str(args.batch_k_large),
                       "--max-datagram-bytes", "65000"]),
    ]
    if sync != "full":  # the cost of durability: unbatched ops only
        phases = phases[:4]
    elif args.perf:
        phases.append(("batch_perf", ["--mode", "batch", "--ops", "10000", "--concurrency", str(args.batch_window),
                                      "--batch-entries", str(args.batch_k), "--max-datagram-bytes", "1200"]))
    for name, extra in phases:
        if time.monotonic() > deadline:
            out[name] = {"error": "skipped: run budget spent"}
            continue
        perf = None
        if name == "batch_perf":  # where the peers' CPU goes under batched ingest
            perf_data = os.path.join(d, "perf.data")
            perf = subprocess.Popen(["perf", "record", "-q", "-F", "499", "-g", "-o", perf_data,
                                     "-p", ",".join(str(p) for p in pids)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
        try:
            out[name] = run_phase(name, base + extra, args.phase_timeout_s, pids)
        finally:
            if perf is not None:
                os.kill(perf.pid, signal.SIGINT)
                try:
                    perf.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.kill(perf.pid, signal.SIGKILL)
                    perf.wait()
        if perf is not None:
            report = subprocess.run(["perf", "report", "-i", perf_data, "--stdio", "--no-children", "-F", "overhead,dso",
                                     "--sort", "dso", "-g", "none"],
                                    capture_output=True, text=True, timeout=120)
            with open(os.path.join(args.out_dir, f"perf-kittengrad-{n}.txt"), "w") as f:
                f.write(report.stdout)
            out["perf_report"] = f"perf-kittengrad-{n}.txt"
    stored = sum(out[p].get("entries_acked", 0) for p, _ in phases if p.startswith(("write", "batch")) and isinstance(out.get(p), dict))
    out["entries_stored_in_ring"] = stored
    out["rss_peak_mib"] = summary([vm_hwm_kib(p) / 1024 for p in pids])
    out["idle_cpu_percent"] = summary(idle_cpu(pids, args.idle_s))
    out["data_dir_bytes"] = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(d)
                                for f in fs if "data-" in dp)
    print(f"  stored {stored} entries; RSS MiB {out['rss_peak_mib']}; idle CPU % {out['idle_cpu_percent']}",
          flush=True)
    return out


# ---------------------------------------------------------------- OpenDHT

def opendht_side(args, n, work, procs, deadline):
    d = tempfile.mkdtemp(prefix=f"dht-{n}-", dir=work)
    netid = 15000 + n  # a private network: nodes of another id are refused
    pids = []
    started = time.monotonic()
    # Debian's daemon, every node on 127.0.0.1 with a port of its own. One address for all:
    # OpenDHT takes a loopback address in a node list for "the sender's host" and puts the
    # sender's address in its place (network_engine.cpp, deserializeNodes), so nodes on
    # distinct 127.x addresses learn wrong addresses and the network never fills its
    # routing tables. -U lifts the request rate limits: with one address for all, the
    # per-address limit (1,024 requests/s) would count the whole network as one peer
    # (OpenDHT's own tools/perftest.cpp lifts them the same way on loopback).
    ports = free_udp_ports(n)
    for i, port in enumerate(ports):
        argv = ["dhtnode", "-s", "-U", "-n", str(netid), "-p", str(port)]
        if i > 0:
            argv += ["-b", f"127.0.0.1:{ports[0]}"]
        pids.append(procs.start(argv, os.path.join(d, f"node-{i}.log")).pid)
        if i == 0:
            time.sleep(0.5)
    time.sleep(args.dht_settle_s)  # the routing tables fill (no health command to ask)
    dead = [i for i, p in enumerate(procs.procs[-n:]) if p.poll() is not None]
    if dead:
        raise RuntimeError(f"dhtnode {dead} exited; logs in {d}")
    out = {"nodes": n, "network_id": netid, "settle_s": args.dht_settle_s,
           "node_argv": "dhtnode -s -U -n NETID -p PORT -b 127.0.0.1:FIRST_PORT"}
    keys = os.path.join(d, "keys.txt")

    def start_client(name):
        client = subprocess.Popen([sys.executable, os.path.abspath(__file__), "dht-load", "--bootstrap",
                                   f"127.0.0.1:{ports[0]}", "--network", str(netid), "--value-bytes",
                                   str(args.record_bytes), "--timeout-s", "30"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                  stderr=open(os.path.join(d, f"client-{name}.log"), "w"), start_new_session=True)
        procs.procs.append(client)  # stopped by its PID with the nodes, at the end of this side
        if not json.loads(read_line(client, 30) or "{}").get("ready"):
            raise RuntimeError(f"the OpenDHT client did not start; see {d}/client-{name}.log")
        return client

    phases = [
        ("put_c1", {"mode": "put", "ops": args.dht_ops_c1, "concurrency": 1}),
        ("put_c16", {"mode": "put", "ops": args.dht_ops_c16, "concurrency": 16, "save": keys}),
        ("get_c1", {"mode": "get", "ops": args.dht_ops_c1, "concurrency": 1, "load": keys}),
        ("get_c16", {"mode": "get", "ops": args.dht_ops_c16, "concurrency": 16, "load": keys}),
    ]
    clients = []
    for name, phase in phases:
        if time.monotonic() > deadline:
            out[name] = {"error": "skipped: run budget spent"}
            continue
        clients.append(start_client(name))
        out[name] = run_client_phase(name, clients[-1], phase, args.phase_timeout_s, pids)
        out[name]["client_rss_peak_mib"] = round(vm_hwm_kib(clients[-1].pid) / 1024, 1)
    out["rss_peak_mib"] = summary([vm_hwm_kib(p) / 1024 for p in pids])
    out["idle_cpu_percent"] = summary(idle_cpu(pids, args.idle_s))
    out["formed_s"] = round(time.monotonic() - started, 1)
    print(f"  OpenDHT N={n}: RSS MiB {out['rss_peak_mib']}; idle CPU % {out['idle_cpu_percent']}", flush=True)
    return out


def dht_load(argv):
    """An OpenDHT client: one DhtRunner in this process. Each stdin line is a phase, a JSON
    object {"mode": "put"|"get", "ops", "concurrency", "save", "load"}; it answers one JSON
    line: puts or gets with `concurrency` outstanding (callbacks), latency from issue to the
    done callback. The driver starts one per phase and keeps each alive until the end: an
    OpenDHT client is a node of the network, and one that exits stays in the others'
    routing tables, where searches wait a request timeout (1 s) for it; one client for
    all phases carries every earlier put's search (its CPU grew to most of a core)."""
    import opendht

    p = argparse.ArgumentParser(prog="run_bench.py dht-load")
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--network", type=int, required=True)
    p.add_argument("--value-bytes", type=int, default=ENTRY_WIRE_BYTES)
    p.add_argument("--timeout-s", type=float, default=30, help="stop after this long without a completion")
    p.add_argument("--max-seconds", type=float, default=60, help="issue no op after this long")
    p.add_argument("--bind", default="127.0.0.1")
    a = p.parse_args(argv)
    cfg = opendht.DhtConfig()
    cfg.setNetwork(a.network)
    cfg.setRateLimit(-1, -1)  # as the nodes' -U
    node = opendht.DhtRunner()
    node.run(port=0, ipv4=a.bind, config=cfg)
    host, port = a.bootstrap.rsplit(":", 1)
    node.bootstrap(host, port)
    seed = time.time_ns()
    # Warm-up, untimed: a put completes (the client's routing table is filled).
    warm = threading.Event()
    node.put(opendht.InfoHash.get(f"warm/{seed}"), opendht.Value(b"w"), lambda ok, nodes: warm.set())
    warm.wait(10)
    print(json.dumps({"ready": True}), flush=True)
    for number, line in enumerate(sys.stdin):
        phase = json.loads(line)
        print(json.dumps(dht_phase(opendht, node, a, phase, f"{seed}/{number}")), flush=True)
    node.shutdown()
    os._exit(0)  # the runner's threads: do not wait for a clean join


def dht_phase(opendht, node, a, phase, prefix):
    mode, ops, concurrency = phase["mode"], phase["ops"], phase["concurrency"]
    if mode == "put":
        names = [f"kg-bench/{prefix}/{i}" for i in range(ops)]
    else:
        with open(phase["load"]) as f:
            saved = [l.strip() for l in f if l.strip()]
        names = [saved[i % len(saved)] for i in range(ops)]
    keys = [opendht.InfoHash.get(k) for k in names]
    values = [opendht.Value(os.urandom(a.value_bytes)) for _ in names] if mode == "put" else []

    lock = threading.Condition()
    state = {"next": 0, "in_flight": 0, "acked": 0, "failed": 0, "last": time.monotonic()}
    latencies, ok_names, errors = [], [], {}

    def finish(i, t0, ok):
        dt = time.perf_counter() - t0
        with lock:
            state["in_flight"] -= 1
            state["last"] = time.monotonic()
            if ok:
                state["acked"] += 1
                latencies.append(dt * 1000)
                ok_names.append(names[i])
            else:
                state["failed"] += 1
                why = "not_found" if mode == "get" else "put_failed"
                errors[why] = errors.get(why, 0) + 1
            lock.notify()

    def issue(i):
        t0 = time.perf_counter()
        if mode == "put":
            node.put(keys[i], values[i], lambda ok, nodes: finish(i, t0, ok))
        else:
            found = []

            def got(v):
                found.append(v)
                return True  # the whole set, as a kittengrad lookup returns it

            node.get(keys[i], got, lambda ok, nodes: finish(i, t0, ok and bool(found)))

    started = time.monotonic()
    finished = True
    limit = ops
    with lock:
        while state["next"] < limit or state["in_flight"] > 0:
            if time.monotonic() - started > a.max_seconds and state["next"] < limit:
                limit = state["next"]  # issue no more; wait for those in flight
            while state["in_flight"] < concurrency and state["next"] < limit:
                i = state["next"]
                state["next"] += 1
                state["in_flight"] += 1
                lock.release()
                try:
                    issue(i)
                finally:
                    lock.acquire()
            lock.wait(0.5)
            if time.monotonic() - state["last"] > a.timeout_s:
                finished = False
                break
        seconds = time.monotonic() - started
        acked, failed = state["acked"], state["failed"]
        lat = sorted(latencies)
        done_names = list(ok_names)
    if phase.get("save"):
        with open(phase["save"], "w") as f:
            f.write("".join(k + "\n" for k in done_names))

    def pct(q):
        if not lat:
            return 0.0
        rank = max(1, min(len(lat), int(q * len(lat) + 0.999999)))
        return round(lat[rank - 1], 3)

    return {"mode": mode, "ops": limit, "ops_requested": ops, "concurrency": concurrency,
            "value_bytes": a.value_bytes, "acked": acked, "failed": failed, "errors": errors,
            "finished": finished, "seconds": round(seconds, 3),
            "ops_per_s": round(acked / seconds, 1) if seconds > 0 else 0,
            "latency_ms": {"p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99), "max": pct(1.0)}}


# ---------------------------------------------------------------- report

def ratio(a, b):
    return round(a / b, 2) if a and b else None


def compare(kg, dht):
    rows = []
    for c in ("c1", "c16"):
        w, p = kg.get(f"write_{c}", {}), dht.get(f"put_{c}", {})
        l, g = kg.get(f"lookup_{c}", {}), dht.get(f"get_{c}", {})
        rows.append({
            "concurrency": c[1:],
            "kg_writes_per_s": w.get("ops_per_s"), "dht_puts_per_s": p.get("ops_per_s"),
            "puts_ratio": ratio(w.get("ops_per_s"), p.get("ops_per_s")),
            "kg_write_p99_ms": w.get("latency_ms", {}).get("p99"),
            "dht_put_p99_ms": p.get("latency_ms", {}).get("p99"),
            "kg_lookups_per_s": l.get("ops_per_s"), "dht_gets_per_s": g.get("ops_per_s"),
            "kg_lookup_p50_ms": l.get("latency_ms", {}).get("p50"),
            "kg_lookup_p99_ms": l.get("latency_ms", {}).get("p99"),
            "dht_get_p50_ms": g.get("latency_ms", {}).get("p50"),
            "dht_get_p99_ms": g.get("latency_ms", {}).get("p99"),
            "p99_ratio_dht_over_kg": ratio(g.get("latency_ms", {}).get("p99"), l.get("latency_ms", {}).get("p99")),
        })
    return rows


def markdown(results):
    out = [f"Run {results['started']}, load average at start {results['loadavg_start']}, "
           f"at end {results['loadavg_end']}, {results['cores']} cores, {results['wall_s']} s.", ""]
    out.append("| N | kittengrad sync | C | kittengrad writes/s | OpenDHT puts/s | ratio (target >= 3) | kittengrad write p50 / p99 ms "
               "| OpenDHT put p50 / p99 ms | kittengrad lookups/s | OpenDHT gets/s | kittengrad lookup p50 / p99 ms "
               "| OpenDHT get p50 / p99 ms | OpenDHT p99 / kittengrad p99 (target >= 2) |")
    out.append("|" + "---:|" * 13)
    for (n, side), (label, kg_name, cmp_name) in [
            (item, variant) for variant in (("full", "kittengrad", "compare"),
                                            ("normal", "kittengrad_normal", "compare_normal"))
            for item in results["sizes"].items()]:
        kg, dht = side.get(kg_name, {}), side.get("opendht", {})
        for row in side.get(cmp_name, []):
            c = row["concurrency"]
            w, p = kg.get(f"write_c{c}", {}), dht.get(f"put_c{c}", {})
            l, g = kg.get(f"lookup_c{c}", {}), dht.get(f"get_c{c}", {})

            def lat(x):
                m = x.get("latency_ms", {})
                return f"{m.get('p50')} / {m.get('p99')}"
            out.append(f"| {n} | {label} | {c} | {row['kg_writes_per_s']} | {row['dht_puts_per_s']} | {row['puts_ratio']} "
                       f"| {lat(w)} | {lat(p)} | {row['kg_lookups_per_s']} | {row['dht_gets_per_s']} | {lat(l)} "
                       f"| {lat(g)} | {row['p99_ratio_dht_over_kg']} |")
    rows = []
    out += ["", "| N | datagram bytes | batch entries acked/s | writes/s | write p50 / p99 ms | verify/s (1 core) | bound "
            "(cores x verify/s / 3) | fraction (target >= 0.6) | peak RSS per peer MiB (mean / max) | idle CPU "
            "per peer % (mean / max) | OpenDHT RSS MiB (mean / max) | OpenDHT idle CPU % (mean / max) |",
            "|" + "---:|" * 12]
    for n, side in results["sizes"].items():
        kg = side.get("kittengrad", {})
        for phase in ("batch", "batch_64k"):
            b = kg.get(phase, {})
            rows.append((n, phase, b))
    for n, phase, b in rows:
        kg, dht = results["sizes"][n].get("kittengrad", {}), results["sizes"][n].get("opendht", {})
        rss, cpu = kg.get("rss_peak_mib", {}), kg.get("idle_cpu_percent", {})
        drss, dcpu = dht.get("rss_peak_mib", {}), dht.get("idle_cpu_percent", {})
        m = b.get("latency_ms", {})
        out.append(f"| {n} | {b.get('max_datagram_bytes')} | {b.get('entries_per_s')} | {b.get('ops_per_s')} | {m.get('p50')} / {m.get('p99')} "
                   f"| {b.get('verify_per_s_one_core')} | {b.get('bound_entries_per_s')} "
                   f"| {b.get('fraction_of_bound')} | {rss.get('mean')} / {rss.get('max')} "
                   f"| {cpu.get('mean')} / {cpu.get('max')} | {drss.get('mean')} / {drss.get('max')} "
                   f"| {dcpu.get('mean')} / {dcpu.get('max')} |")
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "dht-load":
        return dht_load(sys.argv[2:])
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--out", default=None, help="results folder (default: a new one in /tmp)")
    p.add_argument("--sizes", default="16,32")
    p.add_argument("--record-bytes", type=int, default=ENTRY_WIRE_BYTES,
                   help="kittengrad: record size behind each CID; OpenDHT: value size")
    p.add_argument("--ops-c1", type=int, default=1000)
    p.add_argument("--ops-c16", type=int, default=5000)
    p.add_argument("--dht-ops-c1", type=int, default=1000)
    p.add_argument("--dht-ops-c16", type=int, default=5000)
    p.add_argument("--batch-entries", type=int, default=40000, help="entries in each batch phase")
    p.add_argument("--batch-k", type=int, default=256, help="entries per batched write (1,200-byte datagrams)")
    p.add_argument("--batch-k-large", type=int, default=1024, help="entries per batched write (65,000-byte)")
    p.add_argument("--batch-window", type=int, default=32, help="batched writes in flight")
    p.add_argument("--form-timeout-s", type=float, default=120)
    p.add_argument("--phase-timeout-s", type=float, default=180)
    p.add_argument("--dht-settle-s", type=float, default=10)
    p.add_argument("--idle-s", type=float, default=10)
    p.add_argument("--kg-sync", default="full,normal",
                   help="kittengrad rings to run: full (all phases), then normal (unbatched ops only)")
    p.add_argument("--keep-work", action="store_true", help="keep the peers' data and logs")
    p.add_argument("--perf", action="store_true", help="perf record the peers during an extra batch phase")
    p.add_argument("--budget-s", type=float, default=1050, help="no phase starts after this")
    args = p.parse_args()

    def stop(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, stop)

    out_dir = args.out or tempfile.mkdtemp(prefix="kg-live-bench-")
    os.makedirs(out_dir, exist_ok=True)
    args.out_dir = out_dir
    work = tempfile.mkdtemp(prefix="work-", dir=out_dir)
    t0 = time.monotonic()
    deadline = t0 + args.budget_s
    results = {"started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "loadavg_start": load_average(),
               "cores": os.cpu_count(), "argv": sys.argv, "sizes": {}}
    procs = Procs()
    completed = False
    try:
        for n in [int(x) for x in args.sizes.split(",")]:
            side = results["sizes"].setdefault(str(n), {})
            for sync in [x for x in args.kg_sync.split(",") if x]:
                name = "kittengrad" if sync == "full" else f"kittengrad_{sync}"
                try:
                    side[name] = kittengrad_side(args, n, work, procs, deadline, sync)
                except RuntimeError as e:
                    side[name] = {"error": str(e)}
                    print(e, file=sys.stderr)
                finally:
                    procs.stop_all()
            try:
                side["opendht"] = opendht_side(args, n, work, procs, deadline)
            except RuntimeError as e:
                side["opendht"] = {"error": str(e)}
                print(e, file=sys.stderr)
            finally:
                procs.stop_all()
            side["compare"] = compare(side.get("kittengrad", {}), side["opendht"])
            if "kittengrad_normal" in side:
                side["compare_normal"] = compare(side["kittengrad_normal"], side["opendht"])
        completed = True
    finally:
        procs.stop_all()
        results["loadavg_end"] = load_average()
        results["wall_s"] = round(time.monotonic() - t0, 1)
        with open(os.path.join(out_dir, "results.json"), "w") as f:
            json.dump(results, f, indent=1)
        with open(os.path.join(out_dir, "results.md"), "w") as f:
            f.write(markdown(results))
        def has_error(r):
            return isinstance(r, dict) and ("error" in r or any(has_error(v) for v in r.values()))
        if args.keep_work or not completed or has_error(results["sizes"]):
            print(f"peer data and logs kept in {work}", flush=True)
        else:
            shutil.rmtree(work, ignore_errors=True)  # the peers' databases: ~200 MB a ring
        print(f"results in {out_dir}/results.json and results.md", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
