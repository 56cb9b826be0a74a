#!/usr/bin/env bash
# Debian's Chromium for the browser tests (playwright-core drives it; `npx playwright install`
# cannot download browsers on machines that only reach npm and apt).
#   scripts/local-chromium.sh ensure   install if missing, print the executable's path
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib-apt.sh
source scripts/lib-apt.sh

case "${1:-ensure}" in
  ensure)
    # Fonts: without them every glyph in a screenshot is a box.
    apt_ensure chromium fonts-liberation fonts-dejavu-core >&2
    command -v chromium
    ;;
  *) echo "usage: $0 ensure" >&2; exit 2 ;;
esac
