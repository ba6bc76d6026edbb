#!/usr/bin/env bash
# Two faceserve replicas on one PostgreSQL behind HAProxy, on this machine
# (issue 33): the `replicas` profile of docker-compose.yml with its parts
# run on the host (no Docker engine runs here; scripts/check_container.sh
# proves the image itself). The HAProxy configuration is the profile's own,
# deploy/haproxy/haproxy.cfg, with this script's addresses and ports.
#
#   1. a throwaway PostgreSQL (scripts/throwaway_postgres.sh);
#   2. two servers from build/ (config/default.yaml, gallery.backend
#      postgres), HAProxy in front (gRPC on HTTP/2, HTTP/JSON);
#   3. through the load balancer: a gallery made, a face enrolled from a
#      photo, 12 identifications, which both replicas must have answered
#      (their faceserve_requests_total);
#   4. kill -9 of one replica: HAProxy's check of /readyz takes it out, and
#      identifications through the load balancer go on answering.
#
# Needs the set-up (scripts/bootstrap.sh: the build, haproxy, postgresql-15).
#   scripts/check_replicas.sh       (about 20 s; ctest runs it as
#                                    deploy.replicas_behind_haproxy)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> [%s] check_replicas: %s\n' "$(date -u +%T)" "$*" >&2; }
fail() {
  printf 'check_replicas: FAILED: %s\n' "$*" >&2
  [[ -z ${WORK:-} ]] || tail -n 20 "$WORK"/haproxy.log "$WORK"/a.log "$WORK"/b.log >&2 2>/dev/null || true
  exit 1
}
free_port() { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

PHOTO=models/reference/node_modules/@vladmandic/face-api/demo/sample1.jpg
BIN=${FACESERVE_BIN_DIR:-build/bin}  # ctest passes its build's
FACECTL=$BIN/facectl
[[ -x $BIN/faceserve && -x $FACECTL && -f $PHOTO ]] || fail "run scripts/bootstrap.sh first"
command -v haproxy >/dev/null || fail "no haproxy (scripts/bootstrap.sh installs it)"

WORK=$(mktemp -d /tmp/faceserve-replicas.XXXXXX)
chmod 755 "$WORK"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  scripts/throwaway_postgres.sh stop "$WORK/pg" || true
  rm -rf "$WORK"
}
trap cleanup EXIT

log "PostgreSQL"
scripts/throwaway_postgres.sh start "$WORK/pg" >&2
PG_PORT=$(cat "$WORK/pg/port")
DSN="postgresql://faceserve@127.0.0.1:$PG_PORT/postgres"

declare -A GRPC HTTP METRICS
for r in a b; do
  GRPC[$r]=$(free_port); HTTP[$r]=$(free_port); METRICS[$r]=$(free_port)
  log "replica $r: gRPC ${GRPC[$r]}, HTTP ${HTTP[$r]}, metrics ${METRICS[$r]}"
  "$BIN/faceserve" --config config/default.yaml --set device.preheat=false \
    --set server.listen=127.0.0.1:${GRPC[$r]} --set http.listen=127.0.0.1:${HTTP[$r]} \
    --set metrics.listen=127.0.0.1:${METRICS[$r]} \
    --set gallery.backend=postgres --set "gallery.postgres.dsn=$DSN" 2>"$WORK/$r.log" &
  pids+=($!)
  eval "PID_$r=$!"
done

LB_GRPC=$(free_port); LB_HTTP=$(free_port)
sed -e "s/bind :50051/bind 127.0.0.1:$LB_GRPC/; s/bind :8080/bind 127.0.0.1:$LB_HTTP/" \
    -e "s/^  log stdout format raw local0/  log stderr format raw local0/" \
    -e "s/faceserve-a:50051 proto h2 port 9464/127.0.0.1:${GRPC[a]} proto h2 port ${METRICS[a]}/" \
    -e "s/faceserve-b:50051 proto h2 port 9464/127.0.0.1:${GRPC[b]} proto h2 port ${METRICS[b]}/" \
    -e "s/faceserve-a:8080 port 9464/127.0.0.1:${HTTP[a]} port ${METRICS[a]}/" \
    -e "s/faceserve-b:8080 port 9464/127.0.0.1:${HTTP[b]} port ${METRICS[b]}/" \
    deploy/haproxy/haproxy.cfg >"$WORK/haproxy.cfg"
grep -q "127.0.0.1:${GRPC[b]} proto h2 port ${METRICS[b]}" "$WORK/haproxy.cfg" ||
  fail "deploy/haproxy/haproxy.cfg no longer has the lines this script rewrites"
haproxy -c -f "$WORK/haproxy.cfg" >&2
haproxy -db -f "$WORK/haproxy.cfg" 2>"$WORK/haproxy.log" &
pids+=($!)
log "HAProxy: gRPC $LB_GRPC, HTTP $LB_HTTP"

LB=(--server "127.0.0.1:$LB_GRPC")
ready() { curl -fsS "http://127.0.0.1:${METRICS[$1]}/readyz" >/dev/null 2>&1; }
for i in $(seq 240); do ready a && ready b && break; sleep 0.5; done
ready a && ready b || { cat "$WORK/a.log" "$WORK/b.log" >&2; fail "the replicas never became ready"; }
sleep 1.5  # HAProxy's first checks (inter 1s)

log "a gallery and an enrollment through the load balancer"
$FACECTL "${LB[@]}" gallery create people >/dev/null || fail "gallery create through the load balancer"
$FACECTL "${LB[@]}" enroll --gallery people --subject sample --largest "$PHOTO" >/dev/null ||
  fail "enroll through the load balancer"
for i in $(seq 12); do
  $FACECTL "${LB[@]}" identify --gallery people "$PHOTO" >"$WORK/identify.jsonl" ||
    fail "identify $i through the load balancer failed"
  grep -q '"subject": *"sample"' "$WORK/identify.jsonl" ||
    fail "identify $i did not name the enrolled subject: $(head -c 400 "$WORK/identify.jsonl")"
done
identifies() {
  curl -fsS "http://127.0.0.1:${METRICS[$1]}/metrics" |
    awk '/^faceserve_requests_total\{.*rpc="Identify"/ { n += $2 } END { print n + 0 }'
}
na=$(identifies a); nb=$(identifies b)
log "identifications answered: replica a $na, replica b $nb"
((na > 0 && nb > 0)) || fail "the load balancer did not spread the calls (a $na, b $nb)"
grep -q "galleries: 0 with 0 faces loaded from PostgreSQL" "$WORK/b.log" || fail "replica b did not load from PostgreSQL"

log "kill -9 of replica a"
kill -9 "$PID_a"
sleep 2.5  # fall 2 x inter 1s
failed=0
for i in $(seq 10); do
  $FACECTL "${LB[@]}" identify --gallery people "$PHOTO" >"$WORK/identify.jsonl" 2>>"$WORK/facectl.err" || failed=$((failed + 1))
done
((failed == 0)) || { cat "$WORK/facectl.err" >&2; fail "$failed of 10 identifications failed with one replica down"; }
grep -qE "Server faceserve_grpc/a is DOWN" "$WORK/haproxy.log" || fail "HAProxy did not mark replica a down"
log "10 of 10 identifications answered by replica b alone; passed"
