#!/usr/bin/env bash
# The media decoders the processing pipeline runs as sandboxed subprocesses
# (server/src/processing/media/): ffmpeg/ffprobe (video posters, durations), poppler's
# pdfinfo/pdftoppm (PDF page count, first page; fonts-liberation stands in for the standard PDF
# fonts), libheif's heif-thumbnailer (HEIC), prlimit (util-linux: the memory limit of every decoder).
# The tests also make files with heif-enc (libheif-examples) and qpdf (encrypted PDFs), and drive
# Haul with an independent tus client, Python's tuspy (python3-tuspy, run by /usr/bin/python3).
#   scripts/local-media-tools.sh ensure   install what is missing (root once), then check each tool runs
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib-apt.sh
source scripts/lib-apt.sh

# RUNTIME is also installed by the Dockerfile's runtime stage: keep the two lists the same.
RUNTIME=(ffmpeg poppler-utils heif-thumbnailer fonts-liberation util-linux)
TEST_ONLY=(libheif-examples qpdf python3-tuspy)
TOOLS=(ffmpeg ffprobe pdfinfo pdftoppm heif-thumbnailer heif-enc prlimit qpdf)

case "${1:-ensure}" in
  ensure)
    apt_ensure "${RUNTIME[@]}" "${TEST_ONLY[@]}" >&2
    missing=()
    for t in "${TOOLS[@]}"; do command -v "$t" >/dev/null || missing+=("$t"); done
    /usr/bin/python3 -c 'import tusclient' 2>/dev/null || missing+=(python3-tuspy)
    if ((${#missing[@]})); then echo "media tools missing after install: ${missing[*]}" >&2; exit 1; fi
    ;;
  *) echo "usage: $0 ensure" >&2; exit 2 ;;
esac
