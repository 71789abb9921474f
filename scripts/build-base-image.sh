#!/usr/bin/env bash
# Build the base image modelship/base:bookworm from Debian packages with debootstrap, with no
# container registry involved: air-gapped sites and this project's CI build their images on it.
#
# Usage: scripts/build-base-image.sh [--force] [--tag TAG] [--mirror URL] [--suite SUITE]
#   --force    rebuild even if the image already exists
#   --tag      image name (default modelship/base:bookworm)
#   --mirror   Debian mirror (default: the one apt already uses on this host)
#   --suite    Debian release (default bookworm, whose python3 is 3.11 like python:3.11-slim)
set -euo pipefail

TAG=modelship/base:bookworm
SUITE=bookworm
MIRROR=""
FORCE=0
DOCKER=${DOCKER:-/usr/bin/docker}
[ -x "$DOCKER" ] || DOCKER=docker
PACKAGES=python3,python3-venv,ca-certificates,tzdata

while [ $# -gt 0 ]; do
  case "$1" in
    --force) FORCE=1 ;;
    --tag) TAG=$2; shift ;;
    --mirror) MIRROR=$2; shift ;;
    --suite) SUITE=$2; shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

if [ "$FORCE" = 0 ] && "$DOCKER" image inspect "$TAG" >/dev/null 2>&1; then
  echo "$TAG exists (use --force to rebuild)"
  exit 0
fi

# The mirror apt uses here: deb822 files (URIs: ...) first, then one-line sources.list entries.
find_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] || continue
    # A stanza for the main archive: its Suites name the release itself, not only -security.
    awk -v suite="$SUITE" '
      /^URIs:/ { uri = $2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) found = 1 }
      /^$/ { if (found && uri != "") { print uri; exit } uri = ""; found = 0 }
      END { if (found && uri != "") print uri }' "$f" | head -1
  done | head -1
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -e "$f" ] || continue
    awk -v suite="$SUITE" '$1 == "deb" && $0 ~ " " suite " " {
      for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/) { print $i; exit } }' "$f"
  done | head -1
}
if [ -z "$MIRROR" ]; then
  MIRROR=$(find_mirror | head -1)
  MIRROR=${MIRROR:-http://deb.debian.org/debian}
fi

command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || {
  echo "debootstrap is not installed: apt-get install debootstrap" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "debootstrap needs root" >&2; exit 1; }

ROOT=$(mktemp -d /tmp/modelship-base.XXXXXX)
trap 'rm -rf "$ROOT"' EXIT
echo "debootstrap $SUITE from $MIRROR into $ROOT"
PATH=$PATH:/usr/sbin debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOT" "$MIRROR" \
  >"$ROOT.log" 2>&1 || { tail -20 "$ROOT.log" >&2; rm -f "$ROOT.log"; exit 1; }
rm -f "$ROOT.log"

# Keep the image small and reproducible: no apt lists, caches, docs or man pages.
find "$ROOT/usr/share/locale" -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/*.bin "$ROOT"/var/cache/apt/archives/*.deb \
  "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/* "$ROOT"/var/log/*.log
# The image's apt must reach the same mirror at build time (apt-get install in Dockerfiles).
printf 'deb %s %s main\n' "$MIRROR" "$SUITE" >"$ROOT/etc/apt/sources.list"
# Packages installed later by Dockerfiles stay lean too.
printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-exclude /usr/share/man/*' \
  'path-exclude /usr/share/info/*' 'path-exclude /usr/share/locale/*' \
  >"$ROOT/etc/dpkg/dpkg.cfg.d/01-modelship-nodoc"
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
  >"$ROOT/etc/apt/apt.conf.d/01-modelship-norecommends"

tar --numeric-owner -C "$ROOT" -c . | "$DOCKER" import \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["/bin/bash"]' \
  - "$TAG" >/dev/null
echo "built $TAG ($("$DOCKER" image inspect -f '{{.Size}}' "$TAG" | awk '{printf "%.0f MB", $1/1e6}'))"
