#!/usr/bin/env bash
# Installs the Debian 12 packages regcache needs that are not yet present.
#   scripts/install-deps.sh build   what `make run` needs (compiler, libraries)
#   scripts/install-deps.sh test    build + the real peers the tests start
#   scripts/install-deps.sh bench   test + the peers the benchmark compares with
#   scripts/install-deps.sh image   what `make image` needs (buildah, debootstrap); test includes it
#
# This runs on users' machines, Kubernetes nodes among them. It only ever
# installs packages that are missing: it never stops, disables, restarts or
# reconfigures a service or process, and it never installs a Debian package
# over a command the machine already has from another package (Docker's
# containerd.io, nginx from nginx.org or any flavour, a kubectl of any origin).
# A packaged daemon that starts itself after installation is left alone; the
# tests and the benchmark run their own instances on free loopback ports.
set -euo pipefail

profile=${1:-build}

build_pkgs=(
  build-essential cmake ninja-build ccache pkg-config
  libboost1.81-all-dev libboost-json1.81-dev
  libssl-dev librocksdb-dev libspdlog-dev libfmt-dev libyaml-cpp-dev libyaml-dev libnghttp2-dev
  libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev
  libcrypt-dev
)
test_pkgs=(
  docker-registry skopeo containerd apache2-utils openssl curl python3 python3-yaml
  clang libclang-rt-14-dev nghttp2-client haproxy
  prometheus kubernetes-client
)
bench_pkgs=(nginx-light wrk)
image_pkgs=(buildah debootstrap curl)

# Packages that are wanted for a command: when the command is already on the
# machine, whichever package brought it is used as it is.
declare -A command_of=(
  [containerd]=containerd
  [nginx-light]=nginx
  [docker-registry]=docker-registry
  [skopeo]=skopeo
  [curl]=curl
  [openssl]=openssl
  [python3]=python3
  [wrk]=wrk
  [nghttp2-client]=h2load
  [clang]=clang
  [buildah]=buildah
  [debootstrap]=debootstrap
  [cmake]=cmake
  [ninja-build]=ninja
  [ccache]=ccache
  [haproxy]=haproxy
  [prometheus]=promtool
  [kubernetes-client]=kubectl
)

case "$profile" in
  build) pkgs=("${build_pkgs[@]}") ;;
  test) pkgs=("${build_pkgs[@]}" "${test_pkgs[@]}" "${image_pkgs[@]}") ;;
  bench) pkgs=("${build_pkgs[@]}" "${test_pkgs[@]}" "${image_pkgs[@]}" "${bench_pkgs[@]}") ;;
  image) pkgs=("${image_pkgs[@]}") ;;
  *) echo "usage: $0 build|test|bench|image" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  cmd=${command_of[$p]:-}
  if [ -n "$cmd" ] && PATH="$PATH:/usr/sbin:/sbin" command -v "$cmd" >/dev/null 2>&1; then
    continue
  fi
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: these Debian packages are missing and will be installed: ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
