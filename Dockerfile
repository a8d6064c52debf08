# syntax=docker/dockerfile:1
# kgb in a container: build with the official Swift image on Debian 12, run on debian:bookworm-slim.
#   docker build -t kgb .        (BuildKit, the default builder since Docker 23, for the cache mounts)
# See deploy/README.md for running it and deploy/kubernetes/ for the sidecar and central-gateway examples.

# kgb is developed with Swift 6.3 (6.3.1); keep this tag on the same minor version as the toolchain the code is
# tested with (pin it, e.g. swift:6.3.1-bookworm, for reproducible images). It must be a Debian 12 (bookworm)
# image: the runtime stage below is bookworm too, so the shared libraries kgb links against are the same versions.
ARG SWIFT_IMAGE=swift:6.3-bookworm

FROM ${SWIFT_IMAGE} AS build
# The same C libraries as scripts/install-deps.sh (minus the test tools). llhttp-dev is a virtual package
# (node-llhttp) whose C sources land in /usr/share/llhttp and /usr/share/include/llhttp: CModules/CLLHTTP holds
# absolute symlinks to them, so they must exist here, where the sources are compiled. The test fails the build
# early, on a clear line, if a Debian update ever moves them.
RUN export DEBIAN_FRONTEND=noninteractive \
 && apt-get update -q \
 && apt-get install -y -q --no-install-recommends \
      libuv1-dev llhttp-dev zlib1g-dev libssl-dev libsqlite3-dev libpq-dev pkg-config \
 && rm -rf /var/lib/apt/lists/* \
 && test -f /usr/share/llhttp/llhttp.c -a -f /usr/share/include/llhttp/llhttp.h

WORKDIR /src
# Only what the package needs, so edits to docs, benchmarks or deploy files do not invalidate the build layer.
# Tests/ is copied because Package.swift declares the test targets and SwiftPM wants their folders to exist.
# Package.resolved (git-ignored, so it may be absent) pins the dependency versions when it is there.
COPY Package.swift Package.resolve[d] ./
COPY CModules ./CModules
COPY Sources ./Sources
COPY Tests ./Tests
# The same links as in the repository, made again so the build does not depend on how the build context carried
# them (a checkout without symlink support holds small text files in their place).
RUN ln -sf /usr/share/llhttp/api.c /usr/share/llhttp/http.c /usr/share/llhttp/llhttp.c CModules/CLLHTTP/ \
 && ln -sf /usr/share/include/llhttp/llhttp.h CModules/CLLHTTP/include/
# --static-swift-stdlib links the Swift runtime and Dispatch into the binary (kgb uses no Foundation, so no ICU
# data: see README "Sidecar"), so the runtime image needs no Swift toolchain. The C libraries above stay shared
# (from Debian), and so does libstdc++: the Swift runtime itself is C++ (the toolchain's static-stdlib-args.lnk
# passes a dynamic -lstdc++). The mock upstream shares every module but its own, so building it costs little.
# .build lives in a cache mount (incremental rebuilds), so the binaries are copied out in the same step.
# Stripped: the symbols serve debuggers and the Swift backtracer, neither of which is in the runtime image.
RUN --mount=type=cache,target=/src/.build \
    --mount=type=cache,target=/root/.cache \
    swift build -c release --static-swift-stdlib --product kgb \
 && swift build -c release --static-swift-stdlib --product kgb-mock-upstream \
 && mkdir -p /out \
 && cp .build/release/kgb .build/release/kgb-mock-upstream /out/ \
 && strip /out/kgb /out/kgb-mock-upstream


FROM debian:bookworm-slim
# Shared libraries of the binaries: libuv, OpenSSL 3 (libssl + libcrypto), zlib, SQLite, libpq (loaded with dlopen
# only when a postgres:// store is used; it brings Kerberos and LDAP client libraries of its own), libstdc++ (see above;
# slim already has it because apt needs it, listed so the dependency is written down). ca-certificates is the
# system CA store that upstream TLS verifies against (SSL_CTX_set_default_verify_paths). llhttp is compiled into
# the binary, so nothing of it is needed here.
RUN export DEBIAN_FRONTEND=noninteractive \
 && apt-get update -q \
 && apt-get install -y -q --no-install-recommends \
      libuv1 libssl3 zlib1g libsqlite3-0 libpq5 libstdc++6 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 kgb \
 && useradd --system --uid 10001 --gid kgb --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin kgb \
 && install -d -o kgb -g kgb -m 0755 /var/log/kgb

COPY --from=build /out/kgb /out/kgb-mock-upstream /usr/local/bin/
# Fails the image build if a shared library is missing (the loader refuses to start the binary at all).
RUN kgb --help >/dev/null && kgb-mock-upstream --help >/dev/null

# A numeric user, so Kubernetes' runAsNonRoot can check it without looking the name up.
USER 10001:10001
# Records go to stdout by default: the image then works with a read-only root filesystem and no volume, and
# `docker logs` shows them (kgb's own messages go to stderr). Records carry whole bodies, so for real traffic
# log to a file on a volume instead: `--log jsonl:/var/log/kgb/exchanges.jsonl` (the directory exists and
# belongs to this user, so a named volume mounted there is writable), as the Kubernetes examples do.
# Both variables lose to flags, but they beat a --config file: pass `-e KGB_LISTEN= -e KGB_LOG=` (empty values are
# ignored) to let the file decide.
ENV KGB_LISTEN=0.0.0.0:8080 \
    KGB_LOG=stdout
EXPOSE 8080
# No HEALTHCHECK: the slim image has no curl or wget to run one with. Kubernetes probes the admin listener
# instead (`--admin 0.0.0.0:9090`, GET /healthz for liveness and /readyz for readiness); see deploy/kubernetes/.
# kgb is PID 1 and handles SIGTERM itself (drains in-flight exchanges for up to --drain-timeout, then exits 0),
# and starts no child processes, so no init wrapper is needed.
ENTRYPOINT ["kgb"]
