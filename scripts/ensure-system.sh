#!/usr/bin/env bash
# Install the Debian packages the project needs when they are missing (idempotent).
#   scripts/ensure-system.sh dev    PostgreSQL and Redis servers (unless DATABASE_URL / REDIS_URL are set)
#   scripts/ensure-system.sh test   the same, plus Chromium for the browser journey
set -euo pipefail
mode="${1:-dev}"
need=()
if [ -z "${DATABASE_URL:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then need+=(postgresql); fi
if [ -z "${REDIS_URL:-}" ] && ! command -v redis-server >/dev/null 2>&1; then need+=(redis-server); fi
if [ "$mode" = test ] && [ ! -x /usr/bin/chromium ]; then need+=(chromium); fi
command -v node >/dev/null 2>&1 || need+=(nodejs npm)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
echo "[setup] installing Debian packages: ${need[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
