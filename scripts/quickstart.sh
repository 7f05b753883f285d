#!/usr/bin/env bash
# Sets everything up on a fresh machine (as root), starts shoald, makes this machine a one-node swarm
# and deploys the example stack examples/demo-stack.yml on it. Safe to run again: it reuses what is already there.
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

if ! shoal service inspect demo_web >/dev/null 2>&1; then
  shoal stack deploy --resolve-image never -c examples/demo-stack.yml demo
fi
# The client's first answers: it asks web by name every 5 seconds.
for _ in $(seq 1 100); do
  shoal service logs --raw demo_client 2>/dev/null | grep -q 'hello from' && break
  sleep 0.2
done

echo
shoal node ls
echo
shoal stack services demo
echo
shoal stack ps demo
echo
shoal service logs demo_client | tail -n 4
cat <<'MSG'

A one-node swarm is running the example stack "demo" (examples/demo-stack.yml): two replicas of "web", and
"client", which asks http://web/ for a page every 5 seconds over the stack's overlay network. Try:
  shoal service logs -f demo_client    # the pages it gets from web, found by name
  shoal service scale demo_web=4
  shoal service update --publish-add 8080:80 demo_web   # the routing mesh: then curl http://localhost:8080/
  shoal stack diff -c examples/demo-stack.yml demo     # what a deploy of the file would change
  DOCKER_HOST=unix:///run/shoal/shoal.sock docker stack services demo    # the real docker CLI works too
  shoal stack rm demo
MSG
