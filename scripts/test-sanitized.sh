#!/usr/bin/env bash
# The integration suite against a sanitizer build of kgb and the mock.
#   address: AddressSanitizer over everything, UndefinedBehaviorSanitizer over the C and C++ code (llhttp and the
#            other C modules; Swift traps on its own overflow and bounds errors, and swiftc offers no UBSan on Linux).
#   thread:  ThreadSanitizer, with the logging and operations tests (the ring, the logger thread, workers sharing
#            sinks, the admin endpoint reading every worker's counters) under load.
# Every report goes to a file; any report fails the run, even when the test that caused it passed.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:?usage: test-sanitized.sh address|thread}
scratch=$PWD/.build-${kind/address/asan}
scratch=${scratch/thread/tsan}
reports=$(mktemp -d /tmp/kgb-$kind-reports.XXXXXX)
case "$kind" in
  address)
    swift build -c release --sanitize=address -Xcc -fsanitize=undefined --scratch-path "$scratch"
    tests=()
    export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:log_path=$reports/asan"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan:suppressions=$PWD/scripts/ubsan.supp"
    ;;
  thread)
    swift build -c release --sanitize=thread --scratch-path "$scratch"
    tests=(test_logging.py test_operations.py test_streaming.py test_log_disk_full.py)
    export TSAN_OPTIONS="halt_on_error=1:log_path=$reports/tsan"
    ;;
  *) echo "unknown sanitizer $kind" >&2; exit 2 ;;
esac
export KGB_SANITIZED=1 SWIFT_BACKTRACE=enable=no
status=0
(cd Tests/integration && KGB_BIN_DIR="$scratch/release" ../../.build/venv/bin/python -m pytest -q -p no:cacheprovider "${tests[@]}") || status=$?
if compgen -G "$reports/*" > /dev/null; then
  echo "sanitizer reports ($kind):" >&2
  head -60 "$reports"/* >&2
  status=1
fi
rm -rf "$reports"
exit $status
