#!/usr/bin/env bash
# Installs the system tools the eyeballs network lab needs (Debian/Ubuntu).
# Idempotent: installs only what is missing, runs `apt-get update` at most once.
# Needs root (CI runs it as root).
#
#   ip                (iproute2)   namespaces, veth pair, addresses, routes
#   iptables-restore  (iptables)   per-address behaviours inside the server namespace
#   ip6tables-restore (iptables)   (xtables NFQUEUE: these kernels lack nft's `queue`)
#   chrt              (util-linux) real-time priority for the lab's timing threads
#   setpriv           (util-linux) the NAT64 translator dies with the lab (--pdeathsig)
#   tayga             (tayga)      the NAT64 translator of `LabBuilder::nat64` (RFC 6145/6052)
set -euo pipefail

declare -A need=(
  [ip]=iproute2
  [iptables-restore]=iptables
  [ip6tables-restore]=iptables
  [chrt]=util-linux
  [setpriv]=util-linux
  [tayga]=tayga
)

missing=()
for cmd in "${!need[@]}"; do
  if ! command -v "$cmd" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$cmd" ] && ! [ -x "/sbin/$cmd" ]; then
    missing+=("${need[$cmd]}")
  fi
done

# Several commands come from one package: deduplicate.
mapfile -t missing < <(printf '%s\n' ${missing[@]+"${missing[@]}"} | sed '/^$/d' | sort -u)

if [ "${#missing[@]}" -eq 0 ]; then
  echo "eyeballs-lab: all dependencies present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "eyeballs-lab: need root to install: ${missing[*]}" >&2
  exit 1
fi

echo "eyeballs-lab: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"
