#!/usr/bin/env bash
# Installs what `eyeballs-bench` compares eyeballs against (Debian/Ubuntu), idempotently:
#
#   curl               (apt)   a contender: curl's own Happy Eyeballs
#   python3-venv       (apt)   Python asyncio's create_connection(happy_eyeballs_delay=...)
#   fonts-dejavu-core  (apt)   the font the chart's labels are drawn with
#   aiohappyeyeballs   (PyPI)  in a virtualenv at target/bench-venv (pinned version below)
#
# Fast when everything is there (no apt, no pip): .ci/run runs it on every CI run.
# Needs root only when an apt package is missing. The Rust contenders (tokio, hyper-util,
# the happy-eyeballs crate) are ordinary cargo dependencies of the crate.
set -euo pipefail

AIOHAPPYEYEBALLS_VERSION=2.7.1

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${CARGO_TARGET_DIR:-$root/target}/bench-venv"

missing=()
command -v curl >/dev/null 2>&1 || missing+=(curl)
# The venv module is split out of Debian's python3; ensurepip is what it lacks without it.
if ! [ -x /usr/bin/python3 ] || ! /usr/bin/python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  missing+=(python3-venv)
fi
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)

if [ "${#missing[@]}" -ne 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "eyeballs-bench: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  echo "eyeballs-bench: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
fi

# The system's python3 (the one python3-venv belongs to), not whatever `python3` is first
# on PATH (pyenv and the like).
python=/usr/bin/python3
have_version() {
  "$venv/bin/python" -c 'import importlib.metadata as m, sys; sys.exit(m.version("aiohappyeyeballs") != sys.argv[1])' \
    "$AIOHAPPYEYEBALLS_VERSION" >/dev/null 2>&1
}
if [ -x "$venv/bin/python" ] && have_version; then
  echo "eyeballs-bench: all dependencies present (venv $venv, aiohappyeyeballs $AIOHAPPYEYEBALLS_VERSION)"
  exit 0
fi

echo "eyeballs-bench: creating $venv with aiohappyeyeballs $AIOHAPPYEYEBALLS_VERSION"
rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
  "aiohappyeyeballs==$AIOHAPPYEYEBALLS_VERSION"
have_version
echo "eyeballs-bench: ready (venv $venv)"
