#!/usr/bin/env bash
# Sets everything up on a fresh machine (as root), starts shoald, makes this machine a one-node swarm
# and runs an example service on it. Safe to run again: it reuses what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
bash scripts/setup.sh

# `shoal` and `shoald` on the PATH.
chmod +x dist/src/cli/main.js dist/src/daemon/main.js
ln -sf "$repo/dist/src/cli/main.js" /usr/local/bin/shoal
ln -sf "$repo/dist/src/daemon/main.js" /usr/local/bin/shoald

socket=/run/shoal/shoal.sock
if ! shoal version >/dev/null 2>&1; then
  echo "quickstart: starting shoald (logs in /var/log/shoald.log)"
  nohup shoald --data-dir /var/lib/shoal -H "unix://$socket" >>/var/log/shoald.log 2>&1 &
  for _ in $(seq 1 50); do
    [ -S "$socket" ] && shoal version >/dev/null 2>&1 && break
    sleep 0.1
  done
fi

if [ "$(shoal info --format '{{.Swarm.LocalNodeState}}')" != "active" ]; then
  shoal swarm init --advertise-addr 127.0.0.1
fi

if ! shoal service inspect hello >/dev/null 2>&1; then
  shoal service create --quiet --name hello --replicas 3 busybox \
    sh -c 'while true; do echo "hello from $HOSTNAME at $(date +%T)"; sleep 5; done'
fi

echo
shoal node ls
echo
shoal service ls
echo
shoal service ps hello
cat <<'MSG'

A one-node swarm is running the example service "hello" (3 replicas). Try:
  shoal service logs -f hello          # its output, from every replica
  shoal service scale hello=5
  shoal service update --env-add GREETING=hi hello
  DOCKER_HOST=unix:///run/shoal/shoal.sock docker service ls    # the real docker CLI works too
MSG
