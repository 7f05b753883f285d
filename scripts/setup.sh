#!/usr/bin/env bash
# Installs what shoal and its tests need on a fresh Debian machine (as root) and builds the project.
# Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need_packages=()
command -v ip >/dev/null 2>&1 || need_packages+=(iproute2)
command -v nft >/dev/null 2>&1 || need_packages+=(nftables)
command -v unshare >/dev/null 2>&1 || need_packages+=(util-linux)
# Debian's headless Chromium: the dashboard's test drives it (with playwright-core, no browser download).
[ -x /usr/bin/chromium ] || need_packages+=(chromium)
# The real docker CLI: the end-to-end tests run it next to shoal's own CLI against the same daemon, and fail
# without it. Only the client is needed; no Docker engine is started.
need_docker=false
docker --version >/dev/null 2>&1 || need_docker=true
if [ ${#need_packages[@]} -gt 0 ] || $need_docker; then
  apt-get update -qq
fi
if $need_docker; then
  # Debian 13 packages the client alone (docker-cli); Debian 12 only with the engine (docker.io, which
  # brings dockerd and containerd along).
  candidate=$(apt-cache policy docker-cli 2>/dev/null | awk '$1 == "Candidate:" { print $2 }')
  if [ -n "$candidate" ] && [ "$candidate" != "(none)" ]; then
    need_packages+=(docker-cli)
  else
    need_packages+=(docker.io)
  fi
fi
if [ ${#need_packages[@]} -gt 0 ]; then
  echo "setup: installing ${need_packages[*]}"
  # The packages' services (dockerd, containerd) must not start: while installing, a policy-rc.d denies
  # every start — unless the machine has a policy of its own, which is left as it is.
  policy=/usr/sbin/policy-rc.d
  made_policy=false
  if [ ! -e "$policy" ]; then
    made_policy=true
    printf '#!/bin/sh\n# Written by shoal scripts/setup.sh while it installs packages: start no service.\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_packages[@]}" >/dev/null
  hash -r # forget where the shell looked for commands before they were installed
  if $made_policy; then
    rm -f "$policy"
    trap - EXIT
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

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

echo "setup: building"
npm run --silent build
