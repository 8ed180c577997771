#!/bin/sh
# TAP: rendezvousd while its PostgreSQL stalls (SIGSTOP) and resumes: expiry logs once per change.
exec "$(dirname "$0")/pg-harness.sh" node "$(dirname "$0")/stall.mjs"
