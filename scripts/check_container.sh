#!/usr/bin/env bash
# Builds the CPU container image (deploy/Dockerfile.cpu) here, without a
# Docker engine or a registry, and runs it: the proof that the image the
# compose `cpu` profile deploys builds, starts as it says and serves.
#
#   1. a Debian 12 base made with debootstrap (cached in $CACHE), tagged
#      debian:bookworm and debian:bookworm-slim, so that the build pulls
#      nothing (--pull=never);
#   2. buildah bud --isolation chroot --format docker (OCI drops HEALTHCHECK),
#      with --layers: a rerun after a code change rebuilds from the code on;
#   3. buildah inspect: the health check, a non-root user, the entrypoint and
#      the command must be there;
#   4. the image's own entrypoint, command, user, working directory and
#      environment, as buildah inspect reports them, started with buildah run
#      (chroot isolation: the host's network, so clients outside reach it);
#   5. the image's own health check, run inside, until it passes; a photo
#      analyzed from outside with facectl; the metrics endpoint scraped;
#   6. SIGTERM to the server: a clean exit (status 0).
# Prints the build time and the image size (budget: IMAGE_BUDGET_MB).
#
# Needs root (buildah's storage) and the set-up (scripts/bootstrap.sh: the
# facectl and the photo of step 5); installs buildah and debootstrap. The
# ports 50051 and 9464 must be free: the image's command listens there.
#   scripts/check_container.sh        (10 min the first time, 9 of them the
#                                      build; seconds when nothing changed)
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=${FACESERVE_CONTAINER_CACHE:-/var/cache/faceserve-container}
IMAGE=localhost/faceserve-cpu:latest
BASE_RECIPE=1  # bump when the base below changes: the cached one is remade
IMAGE_BUDGET_MB=${IMAGE_BUDGET_MB:-2000}  # measured 1426 MB (docs/deploy.md)
PHOTO=models/reference/node_modules/@vladmandic/face-api/demo/sample1.jpg
MIRROR=http://deb.debian.org/debian
log() { printf '\n==> check_container: %s\n' "$*" >&2; }
fail() { printf '\ncheck_container: FAILED: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || fail "needs root (buildah keeps its images in /var/lib/containers)"
if ! command -v buildah >/dev/null || ! command -v debootstrap >/dev/null; then
  log "installing buildah and debootstrap"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends buildah debootstrap
fi
[[ -x build/bin/facectl && -f $PHOTO ]] || scripts/bootstrap.sh
for port in 50051 9464; do
  if ss -ltnH "sport = :$port" | grep -q .; then fail "port $port is taken: the image's command listens there"; fi
done

# ------------------------------------------------------------------- 1. base
# The image's Docker configuration (entrypoint, user, health check...) as
# JSON. (buildah 1.28's --format templates have no json function.)
image_config() {
  buildah inspect --type image "$1" | /usr/bin/python3 -c \
    'import json, sys; print(json.dumps(json.load(sys.stdin)["Docker"]["config"]))'
}
base_ok() {
  local config
  config=$(image_config localhost/debian:bookworm 2>/dev/null) || return 1
  /usr/bin/python3 -c 'import json, sys
sys.exit(0 if (json.loads(sys.argv[1]).get("Labels") or {}).get("faceserve.base-recipe") == sys.argv[2] else 1)' \
    "$config" "$BASE_RECIPE"
}
if ! base_ok; then
  log "making the Debian 12 base with debootstrap (cached in $CACHE)"
  mkdir -p "$CACHE"
  if [[ ! -f $CACHE/rootfs-$BASE_RECIPE/etc/debian_version ]]; then
    rm -rf "$CACHE/rootfs-$BASE_RECIPE"
    debootstrap --variant=minbase bookworm "$CACHE/rootfs-$BASE_RECIPE" "$MIRROR" >"$CACHE/debootstrap.log"
    # Updates and security fixes too, as Debian's own images have.
    cat >"$CACHE/rootfs-$BASE_RECIPE/etc/apt/sources.list" <<SOURCES
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SOURCES
    rm -rf "$CACHE/rootfs-$BASE_RECIPE"/var/cache/apt/archives/*.deb "$CACHE/rootfs-$BASE_RECIPE"/var/lib/apt/lists/*
  fi
  ctr=$(buildah from scratch)
  cp -a "$CACHE/rootfs-$BASE_RECIPE/." "$(buildah mount "$ctr")/"
  buildah umount "$ctr" >/dev/null
  buildah config --label faceserve.base-recipe="$BASE_RECIPE" --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --cmd /bin/bash "$ctr"
  buildah commit --quiet --format docker "$ctr" localhost/debian:bookworm >/dev/null
  buildah rm "$ctr" >/dev/null
fi
for tag in localhost/debian:bookworm-slim docker.io/library/debian:bookworm docker.io/library/debian:bookworm-slim; do
  buildah tag localhost/debian:bookworm "$tag"
done

# ------------------------------------------------------------------ 2. build
log "building $IMAGE from deploy/Dockerfile.cpu"
build_start=$SECONDS
# The host's CA bundle as the build's ca_bundle secret: npm then trusts what
# this machine trusts (a TLS-intercepting proxy's CA, if any).
secret=()
[[ -s /etc/ssl/certs/ca-certificates.crt ]] && secret=(--secret id=ca_bundle,src=/etc/ssl/certs/ca-certificates.crt)
buildah bud --isolation chroot --format docker --pull=never --layers "${secret[@]}" \
  --ignorefile deploy/Dockerfile.dockerignore -f deploy/Dockerfile.cpu -t "$IMAGE" .
build_seconds=$((SECONDS - build_start))

# ---------------------------------------------------------------- 3. inspect
config_json=$(image_config "$IMAGE")
# One line per fact, shell-quoted, from the image's own configuration.
eval "$(/usr/bin/python3 - "$config_json" <<'PY'
import json, shlex, sys
c = json.loads(sys.argv[1])
def arr(name, values):
    print("%s=(%s)" % (name, " ".join(shlex.quote(v) for v in (values or []))))
arr("ENTRYPOINT", c.get("Entrypoint"))
arr("COMMAND", c.get("Cmd"))
arr("ENVIRONMENT", c.get("Env"))
arr("HEALTH", (c.get("Healthcheck") or {}).get("Test"))
print("USER_SPEC=%s" % shlex.quote(c.get("User") or ""))
print("WORKDIR=%s" % shlex.quote(c.get("WorkingDir") or "/"))
PY
)"
[[ ${#HEALTH[@]} -gt 1 && ${HEALTH[0]} == CMD ]] || fail "no HEALTHCHECK CMD in the image (${HEALTH[*]:-none})"
[[ -n $USER_SPEC && ${USER_SPEC%%:*} != 0 && ${USER_SPEC%%:*} != root ]] || fail "the image runs as root ('$USER_SPEC')"
[[ ${#ENTRYPOINT[@]} -gt 0 ]] || fail "no ENTRYPOINT"
[[ ${#COMMAND[@]} -gt 0 ]] || fail "no CMD"
log "image: user $USER_SPEC, entrypoint ${ENTRYPOINT[*]}, command ${COMMAND[*]}, health check ${HEALTH[*]:1}"

# -------------------------------------------------------------------- 4. run
ctr=$(buildah from --pull=never "$IMAGE")
server_log=$(mktemp)
cleanup() {
  [[ -n ${run_pid:-} ]] && kill -9 "$run_pid" 2>/dev/null || true
  buildah rm "$ctr" >/dev/null 2>&1 || true
  rm -f "$server_log"
}
trap cleanup EXIT
env_args=()
for e in "${ENVIRONMENT[@]}"; do env_args+=(--env "$e"); done
log "starting the image's entrypoint and command as $USER_SPEC"
buildah run --isolation chroot --user "$USER_SPEC" --workingdir "$WORKDIR" "${env_args[@]}" \
  "$ctr" -- "${ENTRYPOINT[@]}" "${COMMAND[@]}" >"$server_log" 2>&1 &
run_pid=$!

# ------------------------------------------------------ 5. health, a call, metrics
log "running the image's health check until it passes"
healthy=0
for _ in $(seq 1 120); do
  if ! kill -0 "$run_pid" 2>/dev/null; then cat "$server_log" >&2; fail "the server exited"; fi
  if buildah run --isolation chroot --user "$USER_SPEC" --workingdir "$WORKDIR" "${env_args[@]}" \
       "$ctr" -- "${HEALTH[@]:1}" >/dev/null 2>&1; then
    healthy=1
    break
  fi
  sleep 2
done
((healthy)) || { cat "$server_log" >&2; fail "the health check never passed"; }
log "healthy; analyzing $PHOTO from outside the container"
analysis=$(build/bin/facectl --server 127.0.0.1:50051 analyze "$PHOTO")
/usr/bin/python3 -c 'import json,sys; r=json.loads(sys.stdin.readline()); n=len(r["faces"]); print("faces:", n); sys.exit(0 if n >= 1 else 1)' <<<"$analysis" ||
  fail "no face found in $PHOTO"
metrics=$(/usr/bin/python3 -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:9464/metrics", timeout=5).read().decode())')
grep -q '^faceserve_requests_total{.*rpc="Analyze".*} 1$' <<<"$metrics" ||
  grep -q '^faceserve_requests_total{code="OK",rpc="Analyze"} 1$' <<<"$metrics" ||
  fail "the metrics endpoint does not count the Analyze call"
log "metrics count the call"

# ------------------------------------------------------------- 6. SIGTERM
# buildah run does not forward signals; the server is its descendant.
server_pid=$(pgrep -x faceserve | while read -r p; do
  q=$p
  while [[ $q -gt 1 ]]; do
    [[ $q == "$run_pid" ]] && { echo "$p"; break; }
    q=$(ps -o ppid= -p "$q" | tr -d ' ')
  done
done | head -n1)
[[ -n $server_pid ]] || fail "cannot find the server process under buildah run ($run_pid)"
log "SIGTERM to the server (pid $server_pid)"
kill -TERM "$server_pid"
status=0
wait "$run_pid" || status=$?
run_pid=""
grep -q "exiting with status 0" "$server_log" && ((status == 0)) ||
  { tail -20 "$server_log" >&2; fail "no clean exit (buildah run status $status)"; }

# The size of the image's unpacked file system (what `docker images` shows).
size_bytes=$(du -sb "$(buildah mount "$ctr")" | cut -f1)
buildah umount "$ctr" >/dev/null
size_mb=$((size_bytes / 1000000))
echo
echo "check_container: PASSED: $IMAGE built in ${build_seconds} s, image ${size_mb} MB (budget ${IMAGE_BUDGET_MB} MB)," \
  "healthy, analyzed a photo from outside, metrics served, clean exit on SIGTERM"
((size_mb <= IMAGE_BUDGET_MB)) || fail "the image is over its size budget"
