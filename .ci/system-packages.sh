#!/usr/bin/env bash
# System packages the test suite needs: a real browser, a real IMAP server, PostgreSQL,
# Redis (the shared cache); ffmpeg only builds test inputs PyAV cannot write (a timecode
# track), never the product.
# Installs only what is missing, so a prepared machine pays nothing.
set -euo pipefail
wanted=(chromium chromium-driver dovecot-imapd postgresql redis-server wrk ffmpeg)
missing=()
for package in "${wanted[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
