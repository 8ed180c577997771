#!/bin/sh
# Installs the Debian packages, builds rendezvousd, and runs it on the embedded memory store.
#   ./scripts/quickstart.sh                 listen on 127.0.0.1:4040 (Ctrl-C stops it)
#   ./scripts/quickstart.sh --listen /ip4/0.0.0.0/tcp/4040 ...   any rendezvousd flags
# The identity key is created in ./rendezvousd.key on first start and kept for the next.
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
[ -x configure ] || ./autogen.sh >/dev/null
mkdir -p build
cd build
[ -f Makefile ] || ../configure -q
make -s -j"$(nproc)" >/dev/null
cd ..
echo "built build/rendezvousd and build/rendezvous-cli; starting the server (memory store)"
[ $# -gt 0 ] || set -- --listen /ip4/127.0.0.1/tcp/4040
exec build/rendezvousd --identity rendezvousd.key --store memory: "$@"
