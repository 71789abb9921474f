#!/usr/bin/env bash
# Build modelship's images from deploy/*.Dockerfile with BuildKit.
#
# Usage: scripts/build-images.sh [options] [serving|training|jupyter|lb|prometheus|serving-gpu|training-gpu ...]
#   (default: serving lb)
#   --base-image IMAGE  base of the images (default: modelship/base:bookworm if it exists,
#                       else python:3.11-slim; the load balancer and Prometheus: that or
#                       debian:bookworm-slim)
#   --ca-bundle FILE    CA bundle for pip inside the build, passed as a BuildKit secret and never
#                       stored in a layer (default: $PIP_CERT when it names a file)
#   --wheelhouse DIR    install from the wheels in DIR only (no index); see build-wheelhouse.sh
#   --prefix P          image names P/<image> (default: modelship)
#   --tag T             image tag (default: latest)
set -euo pipefail
cd "$(dirname "$0")/.."
DOCKER=${DOCKER:-/usr/bin/docker}
[ -x "$DOCKER" ] || DOCKER=docker
BASE=""
CA=""
[ -n "${PIP_CERT:-}" ] && [ -f "$PIP_CERT" ] && CA=$PIP_CERT
WHEELHOUSE=""
PREFIX=modelship
TAG=latest
IMAGES=()
while [ $# -gt 0 ]; do
  case "$1" in
    --base-image) BASE=$2; shift ;;
    --ca-bundle) CA=$2; shift ;;
    --wheelhouse) WHEELHOUSE=$2; shift ;;
    --prefix) PREFIX=$2; shift ;;
    --tag) TAG=$2; shift ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    *) IMAGES+=("$1") ;;
  esac
  shift
done
[ ${#IMAGES[@]} -gt 0 ] || IMAGES=(serving lb)

if [ -z "$BASE" ]; then
  if "$DOCKER" image inspect modelship/base:bookworm >/dev/null 2>&1; then
    BASE=modelship/base:bookworm
  else
    BASE=python:3.11-slim
  fi
fi

args=(--build-arg "BASE_IMAGE=$BASE")
if [ -n "$WHEELHOUSE" ]; then
  # The Dockerfiles bind-mount deploy/wheelhouse from the build context.
  if [ "$(realpath "$WHEELHOUSE")" != "$(realpath deploy/wheelhouse)" ]; then
    find deploy/wheelhouse -name '*.whl' -delete
    cp -l "$WHEELHOUSE"/*.whl deploy/wheelhouse/ 2>/dev/null || cp "$WHEELHOUSE"/*.whl deploy/wheelhouse/
  fi
  args+=(--build-arg PIP_OFFLINE=1)
elif [ -n "$CA" ]; then
  args+=(--secret "id=ca,src=$CA")
fi

for image in "${IMAGES[@]}"; do
  dockerfile=deploy/$image.Dockerfile
  [ -f "$dockerfile" ] || { echo "no $dockerfile" >&2; exit 2; }
  image_args=("${args[@]}")
  case "$image" in
    lb|prometheus) [ "$BASE" = python:3.11-slim ] && image_args=(--build-arg BASE_IMAGE=debian:bookworm-slim) ;;
  esac
  start=$(date +%s)
  DOCKER_BUILDKIT=1 "$DOCKER" build --progress=plain -f "$dockerfile" -t "$PREFIX/$image:$TAG" \
    "${image_args[@]}" . >"/tmp/modelship-build-$image.log" 2>&1 \
    || { tail -40 "/tmp/modelship-build-$image.log" >&2; echo "building $image failed (log: /tmp/modelship-build-$image.log)" >&2; exit 1; }
  size=$("$DOCKER" image inspect -f '{{.Size}}' "$PREFIX/$image:$TAG")
  echo "built $PREFIX/$image:$TAG from $BASE in $(( $(date +%s) - start ))s: $(( size / 1000000 )) MB"
done
