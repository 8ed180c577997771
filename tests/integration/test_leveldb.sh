#!/bin/sh
# TAP: rendezvousd with --store leveldb:DIR keeps registrations across restarts (driver: leveldb.mjs).
exec node "$(dirname "$0")/leveldb.mjs"
