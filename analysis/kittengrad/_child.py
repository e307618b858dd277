"""The child process of ``kittengrad.simulate``: one SimGrid run, then exit.

SimGrid allows one engine per process, so every simulation runs here, in a fresh
interpreter: ``python3 -m kittengrad._child`` reads a JSON request on stdin
({"toml", "base_dir", "source", "out", "progress", "audit", "version"}), writes
"progress SIM_S DURATION_S" lines on stdout while it runs, then "summary JSON". Exit
status: 0 done, 2 the scenario was refused (message on stderr), 1 anything else.
"""

import json
import math
import sys


def main():
    request = json.loads(sys.stdin.read())
    from . import _native

    try:
        sc = _native.Scenario.parse(request["toml"], request.get("source", ""),
                                    request.get("base_dir", ""))
    except (_native.ScenarioError, ValueError) as e:
        print(e, file=sys.stderr)
        return 2

    def progress(simulated_s, duration_s):
        print(f"progress {simulated_s:.3f} {duration_s:.3f}", flush=True)

    try:
        summary = _native.run_simulation(sc, request["out"],
                                         progress if request.get("progress") else None,
                                         bool(request.get("audit")), request.get("version", ""))
    except ValueError as e:  # the run could not start: bad input
        print(e, file=sys.stderr)
        return 2
    clean = {k: (None if isinstance(v, float) and math.isnan(v) else v)
             for k, v in summary.items()}
    print("summary " + json.dumps(clean), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
