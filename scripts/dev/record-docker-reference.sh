#!/usr/bin/env bash
# Records what a real Docker Engine answers for the swarm scenario that test/e2e/docker-json.test.ts plays
# against shoal: `service inspect`, task and node inspect JSON, and the events the scenario emits. Run by
# hand (as root) when the reference needs refreshing; the test itself needs no Docker Engine.
#
#   DOCKER_HOST=unix:///run/docker-ref.sock bash scripts/dev/record-docker-reference.sh
#
# Expects a dockerd at $DOCKER_HOST that is not in a swarm, with `busybox:latest` imported (docker import
# of a static busybox rootfs), e.g.:
#   dockerd --data-root /var/lib/docker-ref --exec-root /run/docker-ref-exec \
#     --host unix:///run/docker-ref.sock --iptables=false --bridge=none
set -euo pipefail
cd "$(dirname "$0")/../.."
out=test/e2e/reference/docker-20.10
mkdir -p "$out"
: "${DOCKER_HOST:?set DOCKER_HOST to the reference engine}"

wait_for() { # wait_for <description> <command…>: until the command prints something non-empty
  local what=$1; shift
  for _ in $(seq 1 300); do
    if [ -n "$("$@" 2>/dev/null)" ]; then return 0; fi
    sleep 0.2
  done
  echo "timed out waiting for $what" >&2; return 1
}
tasks_in() { docker service ps "$1" --no-trunc --format '{{.ID}} {{.CurrentState}}' | grep "$2" || true; }

since=$(date +%s)
docker swarm init --advertise-addr 127.0.0.1 >/dev/null
node=$(docker node ls -q)
docker version --format '{{.Server.Version}}' > "$out/engine-version.txt"

docker service create -d --no-resolve-image --name web --replicas 2 --label team=a --env A=1 \
  busybox:latest sleep 3600 >/dev/null
wait_for 'web running' bash -c "[ \$(docker service ps web --filter desired-state=running --format '{{.CurrentState}}' | grep -c Running) = 2 ] && echo ok"
docker service create -d --no-resolve-image --name job --mode replicated-job busybox:latest true >/dev/null
wait_for 'job complete' tasks_in job Complete
docker service create -d --no-resolve-image --name fails --restart-condition none busybox:latest sh -c 'exit 3' >/dev/null
wait_for 'fails failed' tasks_in fails Failed
docker service update -d --env-add B=2 web >/dev/null
wait_for 'web updated' bash -c "[ \$(docker service ps web --format '{{.DesiredState}} {{.CurrentState}}' | grep -c '^Shutdown Shutdown') = 2 ] && [ \$(docker service ps web --filter desired-state=running --format '{{.CurrentState}}' | grep -c Running) = 2 ] && echo ok"
docker service scale -d web=1 >/dev/null
wait_for 'web scaled' bash -c "[ \$(docker service ps web --filter desired-state=running -q | wc -l) = 1 ] && echo ok"
docker node update --label-add zone=a "$node" >/dev/null
docker node update --availability pause "$node" >/dev/null
docker node update --availability active "$node" >/dev/null
sleep 1

docker service inspect web job fails > "$out/services.json"
docker service inspect --pretty web > "$out/service-web-pretty.txt"
docker node inspect self > "$out/node.json"
docker node inspect --pretty self > "$out/node-pretty.txt"
docker inspect $(docker service ps web job fails -q --no-trunc) > "$out/tasks.json"
docker service rm fails >/dev/null
sleep 1
until=$(date +%s)
docker events --since "$since" --until "$until" --filter scope=swarm --format '{{json .}}' > "$out/events.jsonl"
docker service rm web job >/dev/null
docker swarm leave --force >/dev/null
echo "recorded into $out"
