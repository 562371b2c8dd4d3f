#!/usr/bin/env bash
# Installs what `eyeballs-bench` compares eyeballs against (Debian/Ubuntu), idempotently:
#
#   curl               (apt)   a contender: curl's own Happy Eyeballs
#   python3-venv       (apt)   Python asyncio's create_connection(happy_eyeballs_delay=...)
#   fonts-dejavu-core  (apt)   the font the chart's labels are drawn with
#   aiohappyeyeballs   (PyPI)  in a virtualenv at target/bench-venv (pinned version below)
#   eyeballs (Python)  crates/eyeballs-py, built with `maturin build --release` (maturin
#                      pinned below, from PyPI) and installed into that virtualenv: rebuilt
#                      on every run (cargo's cache makes an unchanged one take seconds)
#
# Fast when everything is there (no apt, no pip): .ci/run runs it on every CI run.
# Needs root only when an apt package is missing. The Rust contenders (tokio, hyper-util,
# the happy-eyeballs crate) are ordinary cargo dependencies of the crate.
set -euo pipefail

AIOHAPPYEYEBALLS_VERSION=2.7.1
MATURIN_VERSION=1.16.0

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
  echo "eyeballs-bench: venv present ($venv, aiohappyeyeballs $AIOHAPPYEYEBALLS_VERSION)"
else
  echo "eyeballs-bench: creating $venv with aiohappyeyeballs $AIOHAPPYEYEBALLS_VERSION"
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    "aiohappyeyeballs==$AIOHAPPYEYEBALLS_VERSION" "maturin==$MATURIN_VERSION"
  have_version
fi

# The eyeballs Python package, as measured: this checkout's, release build.
wheels="${CARGO_TARGET_DIR:-$root/target}/bench-wheels"
if ! [ -x "$venv/bin/maturin" ]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    "maturin==$MATURIN_VERSION"
fi
rm -rf "$wheels"
(cd "$root/crates/eyeballs-py" && VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" \
  CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}/bench-py-build" \
  "$venv/bin/maturin" build --quiet --release --out "$wheels")
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
  --force-reinstall --no-deps "$wheels"/eyeballs-*.whl
"$venv/bin/python" -c 'import eyeballs' 
echo "eyeballs-bench: ready (venv $venv, eyeballs from crates/eyeballs-py)"
