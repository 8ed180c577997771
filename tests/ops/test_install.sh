#!/bin/sh
# TAP: `make install` into a temporary DESTDIR: programs, man pages, the unit (hardened:
# systemd-analyze security --offline=yes <= 2.5), the example config, the static archive that
# exports only rendezvous_* (driver: tests/ops/install.mjs).
exec node "$(dirname "$0")/install.mjs"
