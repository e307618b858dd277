#!/usr/bin/python3
"""One scenario through `kittengrad sim` and `kittengrad live`, seed by seed, side by side
(docs/VALIDATION.md, "Sim vs live").

    PYTHONPATH=build/python /usr/bin/python3 bench/live/sim_vs_live.py \\
        scenarios/live-16.toml --seeds 1 2 3 4 5 --out bench/live/results/sim-vs-live-16

Writes OUT.md (the figures and the traffic by kind as Markdown tables, the machine and the
command) and OUT-figures.csv, OUT-kinds.csv; keeps each run file under OUT-runs/. Live
runs go one after another: two at once would measure each other. Takes about the
scenario's duration per seed, plus the simulations.
"""
import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import kittengrad as kg
from kittengrad.compare import figures_side_by_side, traffic_by_kind


def machine():
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    return f"{os.cpu_count()} cores, {cpu}, {platform.platform()}, commit {commit}"


def markdown(df):
    """A DataFrame as a Markdown table (Debian's pandas lacks `tabulate`)."""
    def cell(v):
        if isinstance(v, float):
            return f"{v:.3f}"
        return str(v)
    head = [df.index.name or ""] + list(df.columns)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for idx, row in df.iterrows():
        lines.append("| " + " | ".join([str(idx)] + [cell(v) for v in row]) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    ap.add_argument("--out", required=True, help="output path prefix")
    args = ap.parse_args()
    out = Path(args.out)
    runs_dir = Path(str(out) + "-runs")
    runs_dir.mkdir(parents=True, exist_ok=True)
    sc = kg.Scenario.load(args.scenario)
    sim_runs, live_runs = [], []
    started = time.monotonic()
    for seed in args.seeds:
        stem = f"{Path(args.scenario).stem}-seed{seed}"
        sim_runs.append(kg.simulate(sc, seed=seed, out=runs_dir / f"{stem}-sim.h5"))
        t = time.monotonic()
        live_runs.append(kg.live(sc, seed=seed, out=runs_dir / f"{stem}-live.h5"))
        print(f"seed {seed}: live run took {time.monotonic() - t:.0f} s", file=sys.stderr)
    figures = figures_side_by_side(sim_runs, live_runs)
    kinds = traffic_by_kind(sim_runs, live_runs)
    figures.to_csv(str(out) + "-figures.csv")
    kinds.to_csv(str(out) + "-kinds.csv")
    with open(str(out) + ".md", "w") as f:
        f.write(f"# {Path(args.scenario).name}: sim vs live, seeds {args.seeds}\n\n")
        f.write(f"Command: `PYTHONPATH=build/python /usr/bin/python3 bench/live/sim_vs_live.py "
                f"{args.scenario} --seeds {' '.join(map(str, args.seeds))} --out {args.out}`  \n")
        f.write(f"Machine: {machine()}; {time.monotonic() - started:.0f} s in all.\n\n")
        f.write(markdown(figures) + "\n\n")
        f.write("Messages per peer per second by kind:\n\n")
        f.write(markdown(kinds) + "\n")
    print(Path(str(out) + ".md").read_text())


if __name__ == "__main__":
    main()
