#!/usr/bin/env bash
# docker-compose.yml is valid for every profile, with and without the
# replicas profile's password, and each profile has the services the docs
# name (Debian's docker-compose 1.29 validates without a Docker engine).
#   scripts/check_compose.sh        (ctest deploy.compose_config)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v docker-compose >/dev/null || { echo "no docker-compose (scripts/bootstrap.sh installs it)" >&2; exit 1; }
# The services a profile starts: its own and those of no profile (compose
# 1.29's `config` lists them all, profiles as written).
services() {
  docker-compose -f docker-compose.yml config | /usr/bin/python3 -c '
import sys, yaml
services = yaml.safe_load(sys.stdin)["services"]
print(" ".join(sorted(n for n, s in services.items() if not s.get("profiles") or sys.argv[1] in s["profiles"])))' "$1"
}
expect() {  # expect PROFILE "SERVICES..."
  local got
  got=$(services "$1")
  [[ $got == "$2" ]] || { echo "profile $1: services '$got', expected '$2'" >&2; exit 1; }
}
unset FACESERVE_PG_PASSWORD
expect cpu "faceserve-cpu grafana prometheus"
expect gpu "dcgm-exporter faceserve grafana prometheus"
FACESERVE_PG_PASSWORD=example expect replicas "faceserve-a faceserve-b grafana loadbalancer postgres prometheus"
# Read whole first: `grep -q` stops at the match, and with pipefail the
# writer's SIGPIPE would fail the check.
resolved=$(FACESERVE_PG_PASSWORD=example docker-compose -f docker-compose.yml --profile replicas config)
grep -q "gallery.postgres.dsn=host=postgres dbname=faceserve user=faceserve" <<<"$resolved" ||
  { echo "the replicas do not point at the postgres service" >&2; exit 1; }
echo "docker-compose.yml: cpu, gpu and replicas profiles valid"
