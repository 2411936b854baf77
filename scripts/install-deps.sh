#!/usr/bin/env bash
# Installs the Debian 12 packages regcache needs that are not yet present.
#   scripts/install-deps.sh build   what `make run` needs (compiler, libraries)
#   scripts/install-deps.sh test    build + the real peers the tests start
#   scripts/install-deps.sh bench   test + the peers the benchmark compares with
set -euo pipefail

profile=${1:-build}

build_pkgs=(
  build-essential cmake ninja-build ccache pkg-config
  libboost1.81-all-dev libboost-json1.81-dev
  libssl-dev librocksdb-dev libspdlog-dev libfmt-dev libyaml-cpp-dev libnghttp2-dev
  libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev
)
test_pkgs=(
  docker-registry skopeo containerd apache2-utils openssl curl python3 python3-yaml
  clang libclang-rt-14-dev
)
bench_pkgs=(nginx-light wrk)

pkgs=("${build_pkgs[@]}")
case "$profile" in
  build) ;;
  test) pkgs+=("${test_pkgs[@]}") ;;
  bench) pkgs+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "usage: $0 build|test|bench" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The packaged daemons must not run as system services: tests and the
# benchmark start their own instances on free loopback ports.
for svc in docker-registry nginx containerd; do
  if command -v systemctl >/dev/null 2>&1; then
    "${sudo_cmd[@]}" systemctl disable --now "$svc" >/dev/null 2>&1 || true
  fi
  "${sudo_cmd[@]}" pkill -x "$svc" >/dev/null 2>&1 || true
done
