#!/usr/bin/env bash
# `pip install --no-build-isolation .` into a fresh venv that sees Debian's packages, as
# README.md ("Python") tells users, reusing the build tree $1; then the installed package
# imports from outside the source tree and runs its compiled parts.
set -euo pipefail
build_dir=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 -m venv --system-site-packages "$work/venv"
# What pip needs of the tree, copied so that setuptools' build/ and egg-info folders land in
# $work, not in the sources (the compiled module comes from $build_dir).
mkdir -p "$work/src/analysis"
cp "$root/pyproject.toml" "$root/setup.py" "$root/README.md" "$work/src/"
cp -r "$root/analysis/kittengrad" "$work/src/analysis/"
KG_BUILD_DIR=$build_dir "$work/venv/bin/pip" install --no-build-isolation --no-index -q "$work/src"
cd "$work"
"$work/venv/bin/python" - <<PY
import kittengrad as kg
assert kg.__file__.startswith("$work/venv/"), kg.__file__
sc = kg.Scenario.load("$root/scenarios/churn-1k.toml")
assert sc.peers == 1000
assert kg.core.ring_id(b"abc").startswith("ba7816bf")
assert 0 < kg.durability.loss_probability(3, 1 / 3600, 1 / 60, 86400) < 1
print("installed and imported:", kg.__file__)
PY
