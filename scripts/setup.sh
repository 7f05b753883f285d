#!/usr/bin/env bash
# Installs what shoal and its tests need on a fresh Debian machine (as root) and builds the project.
# Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages, installed only when missing and without starting any service (a policy-rc.d refuses
# every start while they install — unless the machine has a policy of its own, which is left as it is): the
# tests start the daemons they need themselves.
need_packages=()
command -v ip >/dev/null 2>&1 || need_packages+=(iproute2)
command -v nft >/dev/null 2>&1 || need_packages+=(nftables)
command -v unshare >/dev/null 2>&1 || need_packages+=(util-linux)
# The docker executor's tests: Debian's Docker Engine (dockerd with its containerd and runc; it brings the
# docker CLI along), a static busybox to make images from (docker import), and Podman.
command -v dockerd >/dev/null 2>&1 || need_packages+=(docker.io)
if [ ! -x /usr/bin/busybox ] || ldd /usr/bin/busybox >/dev/null 2>&1; then need_packages+=(busybox-static); fi
command -v podman >/dev/null 2>&1 || need_packages+=(podman)
# etcd 3.4 (Debian's etcd-server): the cluster store of a swarm with several managers, one member per manager
# started by shoald; its tests start members of their own. Its packaged service is not started (above).
command -v etcd >/dev/null 2>&1 || need_packages+=(etcd-server)
# Debian's headless Chromium: the dashboard's test drives it (with playwright-core, no browser download).
[ -x /usr/bin/chromium ] || need_packages+=(chromium)
# wrk: the routing mesh's benchmark (npm run bench:mesh) measures HTTP through it.
command -v wrk >/dev/null 2>&1 || need_packages+=(wrk)
# The real docker CLI: the end-to-end tests run it next to shoal's own CLI against the same daemon, and fail
# without it. docker.io above brings one; a machine with dockerd but no client gets Debian's.
if ! docker --version >/dev/null 2>&1 && [[ ! " ${need_packages[*]} " =~ " docker.io " ]]; then
  need_packages+=(docker.io)
fi

if [ ${#need_packages[@]} -gt 0 ]; then
  echo "setup: installing ${need_packages[*]} (no service is started)"
  policy=/usr/sbin/policy-rc.d
  made_policy=false
  if [ ! -e "$policy" ]; then
    made_policy=true
    printf '#!/bin/sh\n# Written by shoal scripts/setup.sh while it installs packages: start no service.\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_packages[@]}" >/dev/null
  hash -r # forget where the shell looked for commands before they were installed
  if $made_policy; then
    rm -f "$policy"
    trap - EXIT
  fi
  # Debian enables etcd's own service for the next boot; it would hold port 2379, which a manager's member uses.
  if [[ " ${need_packages[*]} " =~ " etcd-server " ]]; then
    update-rc.d etcd disable >/dev/null 2>&1 || true
    systemctl disable etcd >/dev/null 2>&1 || true
  fi
fi

if ! version=$(docker --version 2>&1); then
  echo "setup: the docker CLI does not run: $version" >&2
  exit 1
fi
echo "setup: using $(command -v docker) ($version)"
major=$(sed -E 's/^Docker version ([0-9]+).*/\1/' <<<"$version")
if [[ "$major" =~ ^[0-9]+$ ]] && [ "$major" -lt 28 ]; then
  # Debian 12's docker.io is 20.10: it works, but prints some errors and the converge display differently.
  echo "setup: warning: the end-to-end tests compare with docker CLI 28's output; docker $major.x prints" \
    "some messages differently, and those tests will fail" >&2
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
