# shellcheck shell=bash
# Headless Chromium for the browser tests of the /docs page and the /_skaal/ dashboard
# (sourced by .ci/run).
#
# Installs Debian's chromium when it is missing; no server is started.  If
# apt cannot provide it, CI goes on and those tests skip with their reason.

if ! command -v chromium >/dev/null 2>&1; then
    echo "== chromium: installing (apt)"
    if ! apt-get install -y -qq chromium >/dev/null 2>&1; then
        { apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null; } \
            || echo "== chromium: not available; the browser tests will skip"
    fi
fi
command -v chromium >/dev/null 2>&1 && echo "== chromium: $(chromium --version 2>/dev/null | head -n 1)"
true
