#!/usr/bin/python3
"""Reproduce the Chord paper's path-length and simultaneous-failure experiments.

Stoica et al., "Chord: A Scalable Peer-to-peer Lookup Service for Internet
Applications", SIGCOMM 2001: figure 10 (mean path length ~ 0.5 log2 N) and figure 13
(with a fraction p of nodes failed at once, the fraction of failed lookups ~ p).

    /usr/bin/python3 bench/validate_chord.py [--binary build/kittengrad] [--quick]

Prints the two Markdown tables of docs/VALIDATION.md. Each point is one
`kittengrad sim` run of scenarios/paper/*.toml with --set overrides.
"""
import argparse
import math
import os
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Figure 13 of the paper, read off the plot (mean fraction of failed lookups; the paper
# has 10^4 nodes and 10^6 keys): p -> failed fraction.
PAPER_FIG13 = {0.1: 0.1, 0.2: 0.2, 0.3: 0.3, 0.4: 0.4, 0.5: 0.5}


def sim(binary, scenario, sets, out):
    args = [binary, "sim", scenario, "--out", out, "--quiet"]
    for s in sets:
        args += ["--set", s]
    t0 = time.time()
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(args)} failed ({r.returncode}):\n{r.stderr}")
    return time.time() - t0


def lookups(path):
    with h5py.File(path, "r") as f:
        return {c: f["lookups"][c][()] for c in f["lookups"]}


def hops_table(binary, exponents, tmp):
    print("| N | log2 N | mean hops | 0.5 log2 N | p1 / p99 hops | lookups | wall s |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for k in exponents:
        n = 2 ** k
        out = os.path.join(tmp, f"hops-{n}.h5")
        wall = sim(binary, os.path.join(ROOT, "scenarios/paper/chord-hops.toml"),
                   [f"overlay.peers={n}", f"run.seed={k}"], out)
        lk = lookups(out)
        ok = lk["ok"].astype(bool)
        hops = lk["hops"][ok]
        print(f"| {n} | {k} | {hops.mean():.2f} | {0.5 * k:.1f} | "
              f"{np.percentile(hops, 1):.0f} / {np.percentile(hops, 99):.0f} | {ok.sum()} | "
              f"{wall:.0f} |", flush=True)


def failure_table(binary, fractions, tmp):
    print("| p (failed at once) | failed lookups (kittengrad) | paper, fig. 13 | "
          "keys whose one replica failed | lookups | answered |")
    print("|---:|---:|---:|---:|---:|---:|")
    for p in fractions:
        out = os.path.join(tmp, f"fail-{p}.h5")
        failure = (f'failure=[{{at_s=210, kind="crash", peers={{fraction={p}}}, '
                   f'disk_lost=true}}]')
        sim(binary, os.path.join(ROOT, "scenarios/paper/chord-mass-failure.toml"),
            [failure, f"run.seed={int(p * 100)}"], out)
        lk = lookups(out)
        after = lk["t_issue_s"] > 215.0  # issued after the failure, before any repair could help
        failed = 1.0 - lk["correct"][after].astype(float).mean()
        answered = lk["ok"][after].astype(float).mean()
        with h5py.File(out, "r") as f:
            keys = f["final/keys"]
            lost_keys = (keys["lost_updates"][()] > 0).mean()
        print(f"| {p:.1f} | {failed:.3f} | {PAPER_FIG13[p]:.1f} | {lost_keys:.3f} | "
              f"{after.sum()} | {answered:.3f} |", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "kittengrad"))
    ap.add_argument("--quick", action="store_true", help="N up to 2^10 only")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        hops_table(args.binary, range(3, 11 if args.quick else 15), tmp)
        print()
        failure_table(args.binary, [0.1, 0.2, 0.3, 0.4, 0.5], tmp)


if __name__ == "__main__":
    main()
