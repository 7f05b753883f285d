#!/usr/bin/env bash
# Installs what shoal and its tests need on a fresh Debian machine (as root) and builds the project.
# Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need_packages=()
command -v ip >/dev/null 2>&1 || need_packages+=(iproute2)
command -v nft >/dev/null 2>&1 || need_packages+=(nftables)
command -v unshare >/dev/null 2>&1 || need_packages+=(util-linux)
if [ ${#need_packages[@]} -gt 0 ]; then
  echo "setup: installing ${need_packages[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_packages[@]}" >/dev/null
fi

# The docker executor's tests: Debian's Docker Engine (dockerd with its containerd and runc), a static
# busybox to make images from (docker import), and Podman. Installed without starting any daemon (a
# policy-rc.d refuses every service start meanwhile): the tests start engines of their own.
engine_packages=()
command -v dockerd >/dev/null 2>&1 || engine_packages+=(docker.io)
# The image needs a busybox that runs without the host's libraries.
if [ ! -x /usr/bin/busybox ] || ldd /usr/bin/busybox >/dev/null 2>&1; then engine_packages+=(busybox-static); fi
command -v podman >/dev/null 2>&1 || engine_packages+=(podman)
if [ ${#engine_packages[@]} -gt 0 ]; then
  echo "setup: installing ${engine_packages[*]} (no daemon is started)"
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# scripts/setup.sh: no service starts while packages are installed\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${engine_packages[@]}" >/dev/null
fi

# A node_modules that is a symlink belongs to another checkout (a git worktree sharing it): npm ci would
# empty that checkout's folder, so it is left alone.
if [ -L node_modules ]; then
  echo "setup: node_modules is a symlink to $(readlink node_modules); not reinstalling it"
elif [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

echo "setup: building"
npm run --silent build
