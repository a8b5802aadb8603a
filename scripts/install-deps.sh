#!/usr/bin/env bash
# Installs every Debian 12 package Nudge needs to build, test and benchmark.
# Idempotent and non-interactive; works as root or through sudo.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libeigen3-dev libfmt-dev libspdlog-dev libcli11-dev nlohmann-json3-dev libsimdjson-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  librocksdb-dev libboost-dev libhnswlib-dev libtomlplusplus-dev wrk curl  # nudge serve: event store, HTTP, ANN, config, load test
  librdkafka-dev  # nudge serve: the Kafka event source (tests run librdkafka's mock cluster)
  libhiredis-dev redis-server  # nudge serve: the cluster's shared state in Redis (tests start a real server)
  nginx  # the front door of the replicas scenario (tests/scenarios/replicas.sh)
  chromium python3  # nudge report's test renders the HTML headless and checks it is well-formed
  pybind11-dev python3-dev python3-numpy python3-scipy python3-pytest  # the Python package (python/) and its tests
  python3-venv python3-setuptools python3-wheel python3-pip-whl  # pip install . into a venv, offline (python/tests/wheel_install.sh)
  libonnx-dev libprotobuf-dev  # nudge export --format onnx: the ONNX schema and checker
  g++-aarch64-linux-gnu qemu-user file  # the embedded core's aarch64 cross build and its tests
  clang-14 libfuzzer-14-dev  # the sanitizer tree: ASan/UBSan tests and libFuzzer targets
  lld  # links the ~60 test executables of each tree in half the time of GNU ld
  clang-format-14 clang-tidy-14  # the style check (scripts/lint.sh)
  libopenmpi-dev openmpi-bin  # nudge-train-mpi: distributed training on Open MPI (tests run mpirun on loopback)
)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
  sudo_cmd=(sudo)
fi

# Node.js and npm run ONNX Runtime in the ONNX export's test (Debian's nodejs and npm). A
# machine that already has npm (e.g. Node.js from another source, whose npm is built in)
# keeps it: Debian's npm package would conflict with it.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
else
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# ONNX Runtime is not a Debian package: the npm package onnxruntime-node ships its CPU
# library. --ignore-scripts: its install script fetches optional GPU parts from outside the
# registry; the CPU runtime needs no script. Kept per user, outside the repository, so a
# fresh clone reuses it. The version is pinned (tests compare against it).
ort_version=1.20.1
ort_dir=${HOME}/.cache/nudge/onnxruntime
if [ -f "$ort_dir/node_modules/onnxruntime-node/package.json" ] &&
  grep -q "\"version\": \"$ort_version\"" "$ort_dir/node_modules/onnxruntime-node/package.json"; then
  echo "install-deps: onnxruntime-node $ort_version already installed in $ort_dir"
else
  echo "install-deps: npm install onnxruntime-node@$ort_version into $ort_dir"
  mkdir -p "$ort_dir"
  npm install --ignore-scripts --no-audit --no-fund --prefix "$ort_dir" "onnxruntime-node@$ort_version" >/dev/null
fi
