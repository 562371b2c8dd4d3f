#!/usr/bin/env bash
# Installs the system tools the eyeballs-cli lab tests need (Debian/Ubuntu): the network
# lab's own (crates/eyeballs-lab/install-deps.sh), curl, which tests/proxy_lab.rs runs
# through `eyeballs proxy` and `eyeballs run`, and python3 with venv, for the venv of pinned
# requests that tests/proxy_lab.rs makes under the target directory (from PyPI). The
# loopback tests need nothing (those that use curl skip without it).
# Idempotent: installs only what is missing. Needs root to install (CI runs it as root).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/../eyeballs-lab/install-deps.sh"

missing=()
command -v curl >/dev/null 2>&1 || missing+=(curl)
# `python3 -m venv` needs ensurepip (Debian's python3-venv); a python3 of its own (pyenv)
# has it already.
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  missing+=(python3 python3-venv)
fi

if [ "${#missing[@]}" -eq 0 ]; then
  echo "eyeballs-cli: all dependencies present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "eyeballs-cli: need root to install: ${missing[*]}" >&2
  exit 1
fi

echo "eyeballs-cli: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"
