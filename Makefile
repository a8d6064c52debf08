# kgb: `make run` starts the gateway, `make test` runs every test. Both do all set-up on a fresh Debian 12
# machine (as root): missing apt packages are installed, then the package is built.
SHELL := /bin/bash
LISTEN ?= 127.0.0.1:8080
ARGS ?=
MOCK_LISTEN ?= 127.0.0.1:9100
UPSTREAM ?=
VENV := .build/venv
RELEASE := .build/release

FUZZ_SECONDS ?= 60
.PHONY: run install test deps build unit-tests test-otlp-encoding test-postgres integration-tests integration-tests-debug test-asan test-tsan fuzz fuzz-short soak bench sidecar python-deps clean

deps:
	@bash scripts/install-deps.sh

build: deps
	swift build -c release

# With no UPSTREAM, the mock upstream is started beside the gateway so a stream goes through with no network.
# ARGS: more kgb flags (make run ARGS='--admin 127.0.0.1:9090 --log sqlite:kgb.sqlite'). Ctrl-C drains: the signal
# reaches kgb, which lets in-flight streams finish; the mock runs in its own session (setsid), so it keeps answering
# them, and is stopped once kgb has exited.
run: build
	@if [ -z "$(UPSTREAM)" ]; then \
	  setsid $(RELEASE)/kgb-mock-upstream --listen $(MOCK_LISTEN) & mock=$$!; \
	  trap "kill $$mock 2>/dev/null" EXIT; trap '' INT TERM; \
	  echo "kgb: no UPSTREAM given; using the mock upstream on $(MOCK_LISTEN)"; \
	  echo "try: curl -N http://$(LISTEN)/v1/messages -H 'content-type: application/json' -d '{\"model\":\"m\",\"max_tokens\":9,\"stream\":true,\"messages\":[]}'"; \
	  $(RELEASE)/kgb --listen $(LISTEN) --upstream http://$(MOCK_LISTEN) $(ARGS); \
	else \
	  exec $(RELEASE)/kgb --listen $(LISTEN) --upstream $(UPSTREAM) $(ARGS); \
	fi

# kgb (and the mock) on PATH: $(PREFIX)/bin, /usr/local/bin by default. These binaries use the Swift toolchain's
# shared runtime; `make sidecar` builds one that does not.
PREFIX ?= /usr/local
install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(RELEASE)/kgb $(RELEASE)/kgb-mock-upstream $(DESTDIR)$(PREFIX)/bin/
	@echo "installed kgb and kgb-mock-upstream in $(DESTDIR)$(PREFIX)/bin"

python-deps: deps
	@test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	@$(VENV)/bin/python -c 'import pytest, anthropic, openai, opentelemetry.proto.collector.trace.v1.trace_service_pb2, playwright' 2>/dev/null || \
	  $(VENV)/bin/pip install --quiet pytest anthropic openai opentelemetry-proto playwright

unit-tests: deps
	swift build --build-tests
	swift test --skip-build
	# The log ring's two-thread stress test again under ThreadSanitizer (its own build folder).
	swift build --build-tests --sanitize=thread --scratch-path .build-tsan
	swift test --sanitize=thread --skip-build --scratch-path .build-tsan --filter LogRingTests

# The PostgreSQL sink and reader against a real server (a throw-away cluster on 127.0.0.1, see the script); a plain
# `swift test` skips them.
test-postgres: deps
	bash scripts/test-postgres.sh

integration-tests: build python-deps
	cd Tests/integration && KGB_BIN_DIR=$(CURDIR)/$(RELEASE) ../../$(VENV)/bin/python -m pytest -q -p no:cacheprovider

test: unit-tests test-otlp-encoding test-postgres integration-tests integration-tests-debug test-asan test-tsan fuzz-short

# The OTLP span encoding decoded by opentelemetry-proto's generated classes, not by a parser of ours: the unit tests'
# fixture batches, from the debug test build that unit-tests made (scripts/check-otlp.sh).
test-otlp-encoding: python-deps
	VENV=$(VENV) bash scripts/check-otlp.sh

# The integration suite against the debug build that unit-tests made: its assertions (a loop-owned object touched
# off its loop's thread, say) are live there.
integration-tests-debug: python-deps
	cd Tests/integration && KGB_SANITIZED=1 KGB_BIN_DIR=$(CURDIR)/.build/debug ../../$(VENV)/bin/python -m pytest -q -p no:cacheprovider

# The integration suite against an AddressSanitizer build (UBSan over the C code), and the logging, streaming and
# operations tests against a ThreadSanitizer build; any sanitizer report fails the run (scripts/test-sanitized.sh).
test-asan: python-deps
	bash scripts/test-sanitized.sh address

test-tsan: python-deps
	bash scripts/test-sanitized.sh thread

# libFuzzer targets (Tests/Fuzz) with AddressSanitizer, FUZZ_SECONDS each (default 60); FUZZ_TARGETS picks some.
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/fuzz.sh

# What CI runs on every change: each fuzz target for 10 s, from the committed seeds.
fuzz-short: deps
	FUZZ_SECONDS=10 bash scripts/fuzz.sh

# Soak: one kgb under mixed traffic for SOAK_MINUTES (default 10, fractions allowed), then memory, fd, record and
# sanitizer checks (bench/soak.py). SOAK_BIN=DIR soaks another build (e.g. .build-asan/release after make test-asan);
# SOAK_RESULTS=FILE appends the figures as a Markdown section.
soak: build python-deps
	$(VENV)/bin/python bench/soak.py --bin $${SOAK_BIN:-$(RELEASE)} --minutes $${SOAK_MINUTES:-10} $${SOAK_RESULTS:+--results $$SOAK_RESULTS}

# kgb against nginx, HAProxy, an aiohttp gateway and LiteLLM (bench/run.sh), then to an HTTPS upstream against nginx
# (bench/tls.sh); both write bench/RESULTS.md.
bench: build
	BENCH_BIN=$(RELEASE) bash bench/run.sh
	BENCH_BIN=$(RELEASE) bash bench/tls.sh

# The sidecar binary (Swift runtime linked statically, stripped) at .build-static/kgb-sidecar, with its ldd, the
# Swift libraries inside it, its size, start-up time and idle RSS, and start-up and memory beside nginx's.
sidecar: deps
	bash bench/sidecar.sh

clean:
	rm -rf .build .build-static .build-tsan .build-fuzz .build-asan
