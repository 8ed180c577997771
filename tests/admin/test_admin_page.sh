#!/bin/sh
# TAP: the admin page in Debian's Chromium, headless, driven by playwright-core (driver:
# tests/admin/page.mjs). Needs `npm ci` in tests/admin (scripts/test.sh does) and /usr/bin/chromium.
# Leaves a screenshot in $RDV_BUILDDIR/admin-page.png.
here=$(dirname "$0")
if [ ! -d "$here/node_modules/playwright-core" ]; then
    echo "1..1"
    echo "not ok 1 - playwright-core is not installed: run 'npm ci' in tests/admin (scripts/test.sh does)"
    exit 1
fi
if [ ! -x /usr/bin/chromium ]; then
    echo "1..1"
    echo "not ok 1 - /usr/bin/chromium is missing: install the Debian package chromium (scripts/install-deps.sh)"
    exit 1
fi
exec node "$here/page.mjs"
