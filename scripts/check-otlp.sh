#!/usr/bin/env bash
# The OTLP span encoding checked by a decoder that is not ours: the unit test OTLPTracesTests writes the
# ExportTraceServiceRequest bodies of a few representative batches (and the records they came from) to a temporary
# directory, and Tests/integration/otlp_check.py decodes them with opentelemetry-proto's generated classes.
# Runs the debug test build that `make unit-tests` (swift build --build-tests) made. VENV: the Python venv with
# opentelemetry-proto (`make python-deps`).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${VENV:-.build/venv}
fixtures=$(mktemp -d /tmp/kgb-otlp.XXXXXX)
trap 'rm -rf "$fixtures"' EXIT
KGB_OTLP_FIXTURE_DIR=$fixtures swift test --skip-build --filter OTLPTracesTests
"$venv/bin/python" Tests/integration/otlp_check.py "$fixtures"
