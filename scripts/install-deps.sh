#!/usr/bin/env bash
# Installs what kgb needs to build and test on Debian 12, only when missing (so repeated runs are instant).
# llhttp-dev installs llhttp's C sources under /usr/share/llhttp; CModules/CLLHTTP links to them.
# openssl (the command), tinyproxy and postgresql are for the tests: throw-away certificates, a real forward proxy,
# the PostgreSQL server binaries the sink's tests run a cluster of their own with (scripts/postgres-server.sh), and
# chromium, the browser the `kgb ui` tests drive headless (through Playwright, which is told to use it).
set -euo pipefail
packages=(libuv1-dev llhttp-dev zlib1g-dev libssl-dev libsqlite3-dev libpq-dev pkg-config python3-venv openssl tinyproxy
          postgresql chromium)
missing=()
for package in "${packages[@]}"; do
  # llhttp-dev is a virtual package (provided by node-llhttp): check for the files it provides.
  if [ "$package" = llhttp-dev ]; then
    [ -f /usr/share/llhttp/llhttp.c ] && [ -f /usr/share/include/llhttp/llhttp.h ] || missing+=("$package")
  elif ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then echo "need root to install ${missing[*]}" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
  # tinyproxy is for the tests, which start their own on 127.0.0.1; the package's daemon is not wanted.
  if [[ " ${missing[*]} " == *" tinyproxy "* ]]; then
    service tinyproxy stop >/dev/null 2>&1 || pkill -x tinyproxy || true
  fi
  # Likewise the cluster the postgresql package creates and starts on port 5432.
  if [[ " ${missing[*]} " == *" postgresql "* ]]; then
    service postgresql stop >/dev/null 2>&1 || true
  fi
fi
command -v swift >/dev/null || { echo "swift is not on PATH (expected the Swift 6 toolchain)" >&2; exit 1; }
