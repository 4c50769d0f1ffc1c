# lava-runner container image. Build: docker build -t lava-runner .
# Run:   docker run -e GITLAB_URL=https://gitlab.example.com -e GITLAB_TOKEN=glrt-… lava-runner
# Or, from a lava-runner already built with --static-swift-stdlib (what `make image` does with
# buildah, where the Swift image cannot be pulled): put it alone in a folder DIR as
# DIR/lava-runner and run  docker build --target prebuilt -f Dockerfile DIR
# scripts/check-packaging lints this file with hadolint and checks that the runtime stage's
# package list provides every shared library the binary loads; keep the two install lines
# below on one `apt-get install` each so that it can read them. scripts/check-image builds it
# and runs the image.

# The toolchain the project is tested with (Swift 6.3.1), on the same Debian release as the
# runtime stage so that the libraries linked at build time are the ones installed at run time.
FROM swift:6.3.1-bookworm AS build

# Debian versions are not pinned: the archive drops superseded versions with every security
# update, so pins would break the build; the Debian release (bookworm) is the pin.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libcurl4-openssl-dev libyaml-dev zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# The manifest names the test targets' folders too, so they are copied for it to load.
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
# The Swift runtime and Foundation are linked statically: the runtime stage needs no Swift
# toolchain, only the C libraries below.
RUN swift build -c release --static-swift-stdlib --product lava-runner \
    && install -D -m 0755 .build/release/lava-runner /out/lava-runner

FROM debian:bookworm-slim AS runtime-base

# libcurl4 (HTTP, with OpenSSL), libyaml-0-2 (LAVA job definitions) and zlib1g (gzip, CRC-32)
# are what the binary links besides libc and libstdc++, which the base image has;
# ca-certificates is the CA bundle libcurl verifies GitLab and LAVA against.
# A fixed uid so that Kubernetes' runAsNonRoot can check it and volume permissions are stable.
# No /etc/machine-id: the runner's system_id is derived from it, else from the host name, and
# every container of one image would otherwise report the same system_id to GitLab.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libcurl4 libyaml-0-2 zlib1g \
    && rm -rf /var/lib/apt/lists/* /etc/machine-id \
    && groupadd --system --gid 10001 lava-runner \
    && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin lava-runner

# Jobs keep their temporary files in /tmp: the only place written to, so that the root file
# system can be mounted read-only (the Helm chart mounts an emptyDir there).
# The metrics and health endpoints (/metrics, /health/live, /health/ready) listen on 9252,
# the port the official GitLab runner uses for its metrics.
ENV RUNNER_WORK_DIR=/tmp \
    RUNNER_LISTEN_ADDRESS=:9252
EXPOSE 9252

USER 10001:10001

# SIGQUIT, not the default SIGTERM: lava-runner takes SIGQUIT as "take no more jobs, let the
# running ones finish", while SIGTERM ends the running LAVA jobs at once (runner_interrupted).
# `docker stop` and Kubernetes (containerd and CRI-O send the image's STOPSIGNAL) thus drain
# the runner; the grace period (`docker stop -t`, the pod's terminationGracePeriodSeconds)
# bounds the wait before SIGKILL. A second signal still stops it at once.
STOPSIGNAL SIGQUIT

# GITLAB_URL and GITLAB_TOKEN come from the environment, as with the original image.
ENTRYPOINT ["lava-runner"]
CMD ["run"]

# The binary built on the host: `--target prebuilt` with a build context holding only it.
FROM runtime-base AS prebuilt
COPY lava-runner /usr/local/bin/lava-runner

# The default target (the last stage): the binary from the build stage above.
FROM runtime-base AS runtime
COPY --from=build /out/lava-runner /usr/local/bin/lava-runner
