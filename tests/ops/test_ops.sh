#!/bin/sh
# TAP: operations black-box tests (driver: tests/ops/ops.mjs; notify_sink is a check program).
exec node "$(dirname "$0")/ops.mjs"
