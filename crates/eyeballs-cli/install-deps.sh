#!/usr/bin/env bash
# Installs the system tools the eyeballs-cli lab tests need (Debian/Ubuntu): the network
# lab's own (crates/eyeballs-lab/install-deps.sh) and curl, which tests/proxy_lab.rs runs
# through `eyeballs proxy`. The loopback tests (tests/cli.rs, tests/proxy.rs) need nothing.
# Idempotent: installs only what is missing. Needs root to install (CI runs it as root).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/../eyeballs-lab/install-deps.sh"

if command -v curl >/dev/null 2>&1; then
  echo "eyeballs-cli: all dependencies present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "eyeballs-cli: need root to install: curl" >&2
  exit 1
fi

echo "eyeballs-cli: installing curl"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends curl
