#!/usr/bin/env bash
# Installs the server binaries the tests and the demo start on loopback, if they are missing.
# Python-side servers (valkey-server) come from requirements.txt; this covers Debian packages.
set -euo pipefail

have_postgres() {
  command -v initdb >/dev/null 2>&1 && return 0
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null
}

missing=()
have_postgres || missing+=(postgresql)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing system packages: ${missing[*]}; install them (e.g. sudo apt-get install ${missing[*]}) and rerun" >&2
  exit 1
fi
echo "installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
