#!/usr/bin/env bash
# Installs the Debian 12 packages kittengrad needs to build, test and run. Idempotent:
# when everything is installed it does nothing and needs no root.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git clang libclang-rt-14-dev
  libsodium-dev libgtest-dev libgmock-dev libbenchmark-dev
  libsimgrid-dev libboost-graph-dev libeigen3-dev libhdf5-dev hdf5-tools
  pybind11-dev python3-pybind11 libasio-dev libsqlite3-dev libtomlplusplus-dev libcli11-dev nlohmann-json3-dev
  libcpp-httplib-dev
  python3 python3-dev python3-venv python3-pip python3-setuptools python3-wheel
  python3-numpy python3-h5py python3-pandas python3-matplotlib python3-pytest python3-tqdm
  python3-distributed jupyter-nbconvert python3-nbclient python3-nbformat python3-ipykernel
  dhtnode python3-opendht  # the OpenDHT side of bench/live/run_bench.py
  linux-perf               # its --perf profile of the peers
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} Debian packages present"
  exit 0
fi

echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=sudo
  else
    echo "setup: these packages are missing and installing them needs root." >&2
    echo "       Run as root, or: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: done"
