#!/usr/bin/env bash
# The PostgreSQL sink's tests (Tests/ExchangeLogTests/PostgresSinkTests.swift) against a real server: a throw-away
# cluster on a free 127.0.0.1 port (scripts/postgres-server.sh), removed afterwards whatever the outcome. The tests
# stop and start the server themselves (KGB_TEST_PG_SERVER) to check that records wait out an outage.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d /tmp/kgb-postgres.XXXXXX)
trap 'bash scripts/postgres-server.sh destroy "$dir"' EXIT
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
bash scripts/postgres-server.sh init "$dir" "$port"
bash scripts/postgres-server.sh start "$dir"
export KGB_TEST_POSTGRES_URL="postgres://kgb:kgb-test@127.0.0.1:$port"
export KGB_TEST_PG_SERVER="$PWD/scripts/postgres-server.sh" KGB_TEST_PG_DIR="$dir"
swift build --build-tests
swift test --skip-build --filter PostgresSinkTests
