#!/usr/bin/env bash
# Builds docker/Dockerfile into the image `regcache` (localhost/regcache:latest)
# with buildah, with no Docker daemon (`make image`):
#   scripts/build-image.sh                  build
#   scripts/build-image.sh buildah ARGS...  buildah ARGS on the same storage, e.g.
#     scripts/build-image.sh buildah images
#     scripts/build-image.sh buildah push regcache docker://registry.example/regcache:0.1.0
#
# buildah runs with chroot isolation and the vfs storage driver, in this
# repository's own storage (build/image/, or $REGCACHE_IMAGE_DIR): it never
# reads or writes the machine's container storage, so podman or buildah images
# users keep there are neither seen nor touched.
#
# FROM debian:12 and debian:12-slim come from Docker Hub when it answers.
# Where it does not (a closed network), both are made here from Debian
# packages with debootstrap, the way Debian's official images are (minbase
# bookworm with its point release and security updates, apt set up for
# containers; -slim without documentation, manuals and translations), and
# stored under the names FROM resolves to (with the label
# org.regcache.base=debootstrap, which images built on them inherit), so the
# Dockerfile users build with docker is built unchanged. They stay in the
# storage: a second build reuses them. The mirror is $DEBIAN_MIRROR
# (http://deb.debian.org/debian) and $DEBIAN_SECURITY_MIRROR
# (http://deb.debian.org/debian-security).
#
# Needs root (buildah's chroot isolation and debootstrap do): run through sudo
# otherwise. The whole build runs in a private mount namespace, where an empty
# tmpfs hides /var/lib/containers (containers/image would keep its blob cache
# there), so no mount or file outlives it outside build/image/.
set -euo pipefail

self=$(realpath "$0")
cd "$(dirname "$self")/.."
image_dir=$(realpath -m "${REGCACHE_IMAGE_DIR:-build/image}")
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
# Marks the base images made here, so that with a registry in reach they are
# replaced by the real ones.
local_base_label=org.regcache.base=debootstrap

if [ "$(id -u)" -ne 0 ]; then
  exec sudo --preserve-env=REGCACHE_IMAGE_DIR,DEBIAN_MIRROR,DEBIAN_SECURITY_MIRROR "$self" "$@"
fi
if [ -z "${REGCACHE_IMAGE_NAMESPACE:-}" ]; then
  REGCACHE_IMAGE_NAMESPACE=1 exec unshare --mount --propagation private "$self" "$@"
fi

if [ -d /var/lib/containers ]; then
  mount -t tmpfs -o size=64m,mode=0700 tmpfs /var/lib/containers
else
  # Nothing may be created there: containers/image then keeps its cache in memory.
  mount --bind /var/lib /var/lib
  mount -o remount,bind,ro /var/lib
fi

mkdir -p "$image_dir/tmp"
export TMPDIR=$image_dir/tmp
buildah=(buildah --root "$image_dir/storage" --runroot "$image_dir/run" --storage-driver vfs)
if [ "${1:-}" = buildah ]; then
  shift
  exec "${buildah[@]}" "$@"
fi

# Debian's official images set apt and dpkg up for containers this way
# (debuerreotype's minimizing config): no caches or translations kept, no
# fsync per file.
container_config() {
  local root=$1
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
  echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"
  echo 'force-unsafe-io' >"$root/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
  rm -f "$root/etc/apt/sources.list"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security_mirror
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
}

clean_apt() {
  local root=$1
  # A container gets its own at run time (debootstrap copies the host's).
  rm -f "$root/etc/resolv.conf" "$root/etc/hostname"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
  find "$root/var/log" -type f -delete
}

# -slim: what debuerreotype's slimify leaves out, now and in later installs.
slim() {
  local root=$1
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
  find "$root/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$root"/usr/share/{groff,info,linda,lintian/overrides,locale,man}/*
}

# Stores the tree $1 as the one-layer image $2, configured as Debian's are.
commit_tree() {
  local root=$1 name=$2 ctr mnt
  ctr=$("${buildah[@]}" from scratch)
  mnt=$("${buildah[@]}" mount "$ctr")
  tar -C "$root" --numeric-owner -cf - . | tar -C "$mnt" --numeric-owner -xpf -
  "${buildah[@]}" umount "$ctr" >/dev/null
  "${buildah[@]}" config --cmd bash \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --label "$local_base_label" "$ctr"
  "${buildah[@]}" commit --quiet --rm "$ctr" "$name" >/dev/null
}

base_origin() {
  "${buildah[@]}" inspect --type image --format '{{index .OCIv1.Config.Labels "org.regcache.base"}}' "$1" 2>/dev/null || true
}

has_image() {
  "${buildah[@]}" inspect --type image "$1" >/dev/null 2>&1
}

make_debian_bases() {
  if has_image docker.io/library/debian:12 && has_image docker.io/library/debian:12-slim; then
    echo "build-image: using the debian:12 and debian:12-slim made earlier in $image_dir"
    return
  fi
  local trees=$image_dir/tmp/debootstrap
  rm -rf "$trees"
  mkdir -p "$trees"
  echo "build-image: making debian:12 and debian:12-slim with debootstrap from $mirror"
  debootstrap --variant=minbase bookworm "$trees/debian-12" "$mirror" >"$trees/debootstrap.log" \
    || { tail -20 "$trees/debootstrap.log" >&2; exit 1; }
  container_config "$trees/debian-12"
  # debootstrap installs bookworm as released; Debian's images carry the
  # point release and security updates too.
  mount -t proc proc "$trees/debian-12/proc"
  cp /etc/resolv.conf "$trees/debian-12/etc/resolv.conf"
  chroot "$trees/debian-12" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get upgrade -y -qq' \
    >>"$trees/debootstrap.log" || { tail -20 "$trees/debootstrap.log" >&2; exit 1; }
  umount "$trees/debian-12/proc"
  clean_apt "$trees/debian-12"
  cp -a "$trees/debian-12" "$trees/debian-12-slim"
  slim "$trees/debian-12-slim"
  commit_tree "$trees/debian-12" docker.io/library/debian:12
  commit_tree "$trees/debian-12-slim" docker.io/library/debian:12-slim
  rm -rf "$trees"
}

if curl --silent --output /dev/null --max-time 5 https://registry-1.docker.io/v2/; then
  for base in docker.io/library/debian:12 docker.io/library/debian:12-slim; do
    if [ "$(base_origin "$base")" = debootstrap ]; then
      "${buildah[@]}" rmi "$base" >/dev/null
    fi
  done
  pull=true
else
  make_debian_bases
  pull=never
fi

# --jobs 2: the runtime stage installs its packages while the build stage
# compiles. --force-rm: a failed build leaves no working container behind (with
# vfs each is a full copy of its root filesystem). The build stage's ccache
# (CMakeLists.txt uses it when installed, and install-deps.sh installs it)
# keeps its cache in build/image/ccache, so a rebuild compiles only what
# changed; a build from clean compiles everything.
mkdir -p "$image_dir/ccache"
"${buildah[@]}" build --isolation chroot --pull="$pull" --layers=false --jobs 2 --force-rm \
  --volume "$image_dir/ccache:/root/.cache/ccache" \
  -f docker/Dockerfile -t regcache .
# The image this build replaced, now without a name.
"${buildah[@]}" rmi --prune >/dev/null
"${buildah[@]}" images regcache
