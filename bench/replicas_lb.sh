#!/usr/bin/env bash
# One replica on both cores against two replicas each pinned to one core
# behind HAProxy (deploy/haproxy/haproxy.cfg), both on one PostgreSQL (issue
# 33). One 2-core machine cannot show scaling: what this shows is what the
# load balancer and a second process cost. Analyze of a demo photo, 8 calls
# in flight from facectl bench (on the same 2 cores), ROUNDS rounds of
# SECONDS each, alternating.
#
#   bench/replicas_lb.sh [ROUNDS] [SECONDS]      (default 3 rounds of 30 s)
#
# Prints one JSON line per round (facectl bench --json plus the set-up).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
SECONDS_PER_ROUND=${2:-30}
PHOTO=models/reference/node_modules/@vladmandic/face-api/demo/sample1.jpg
WORK=$(mktemp -d /tmp/faceserve-lb-bench.XXXXXX)
chmod 755 "$WORK"
pids=()
stop_all() { for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done; pids=(); sleep 1; }
trap 'stop_all; scripts/throwaway_postgres.sh stop "$WORK/pg"; rm -rf "$WORK"' EXIT
free_port() { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
scripts/throwaway_postgres.sh start "$WORK/pg" >&2
DSN="postgresql://faceserve@127.0.0.1:$(cat "$WORK/pg/port")/postgres"

# start_replica NAME CPUS EXTRA...: prints "GRPC METRICS"
start_replica() {
  local name=$1 cpus=$2
  shift 2
  local grpc metrics
  grpc=$(free_port); metrics=$(free_port)
  taskset -c "$cpus" build/bin/faceserve --config config/default.yaml --set device.preheat=true \
    --set server.listen=127.0.0.1:$grpc --set http.listen= --set metrics.listen=127.0.0.1:$metrics \
    --set gallery.backend=postgres --set "gallery.postgres.dsn=$DSN" "$@" 2>"$WORK/$name.log" &
  pids+=($!)
  for i in $(seq 600); do curl -fsS "http://127.0.0.1:$metrics/readyz" >/dev/null 2>&1 && break; sleep 0.5; done
  echo "$grpc $metrics"
}

bench() {  # bench LABEL ADDRESS
  local json
  json=$(build/bin/facectl --server "$2" bench --concurrency 8 --duration "$SECONDS_PER_ROUND" --json "$PHOTO")
  echo "{\"setup\": \"$1\", \"bench\": $json}"
}

echo "{\"machine\": \"$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)\", \"commit\": \"$(git rev-parse --short HEAD)\", \"rounds\": $ROUNDS, \"seconds\": $SECONDS_PER_ROUND}"
for round in $(seq "$ROUNDS"); do
  read -r g m < <(start_replica one 0,1)
  bench "one replica on cores 0,1, direct" "127.0.0.1:$g"
  stop_all

  read -r ga ma < <(start_replica a 0 --set device.pin_cpu_passes=false)
  read -r gb mb < <(start_replica b 1 --set device.pin_cpu_passes=false)
  lb=$(free_port)
  sed -e "s/bind :50051/bind 127.0.0.1:$lb/; s/bind :8080/bind 127.0.0.1:$(free_port)/" \
      -e "s/^  log stdout format raw local0/  log stderr format raw local0/" \
      -e "s/faceserve-a:50051 proto h2 port 9464/127.0.0.1:$ga proto h2 port $ma/" \
      -e "s/faceserve-b:50051 proto h2 port 9464/127.0.0.1:$gb proto h2 port $mb/" \
      -e "s/faceserve-a:8080 port 9464/127.0.0.1:1 port $ma/; s/faceserve-b:8080 port 9464/127.0.0.1:1 port $mb/" \
      deploy/haproxy/haproxy.cfg >"$WORK/haproxy.cfg"
  haproxy -db -f "$WORK/haproxy.cfg" 2>"$WORK/haproxy.log" &
  pids+=($!)
  sleep 2
  bench "two replicas pinned to core 0 and core 1, HAProxy" "127.0.0.1:$lb"
  stop_all
done
