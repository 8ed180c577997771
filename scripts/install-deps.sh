#!/bin/sh
# Installs the Debian 12 packages rendezvousd needs to build, run and test.
#   scripts/install-deps.sh          install only what is missing (apt-get update first when needed)
#   scripts/install-deps.sh --update always run apt-get update first (CI)
set -eu

PACKAGES="build-essential autoconf automake libtool pkg-config
  libev-dev libpq-dev libmicrohttpd-dev libjansson-dev libprotobuf-c-dev protobuf-c-compiler
  libsodium-dev libsecp256k1-dev libleveldb-dev
  clang libclang-rt-14-dev
  postgresql pgbouncer nodejs npm
  chromium prometheus
  libsystemd-dev systemd binutils"

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# node/npm may come from outside Debian on some machines: only ask apt for them when absent.
command -v node >/dev/null 2>&1 && missing=$(echo "$missing" | sed 's/ nodejs//')
command -v npm >/dev/null 2>&1 && missing=$(echo "$missing" | sed 's/ npm//')

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ "${1:-}" = "--update" ] || [ -n "$missing" ]; then
    $SUDO apt-get update -q
fi
if [ -n "$missing" ]; then
    echo "installing:$missing"
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
fi
