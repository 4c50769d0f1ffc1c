# The two commands a newcomer needs (see README.md):
#   make run ARGS="https://gitlab.example.com"   install what is missing, build, run lava-runner
#   make test                                    install what is missing, run every test
#   make image                                   build the container image with buildah
SWIFT ?= swift
ARGS ?=
CONFIG ?= release

.PHONY: deps build run test lint fuzz sanitize image check-image check-packaging lava-up lava-down clean

deps:
	scripts/install-deps

build: deps
	$(SWIFT) build -c $(CONFIG)

run: build
	$(SWIFT) run -c $(CONFIG) --skip-build lava-runner $(ARGS)

# Everything CI checks: no warnings in the project's own code, swift-format clean, all tests
# (unit, HTTP against local servers, end to end against a real LAVA server on loopback), the
# container image built and run, the chart rendered and validated.
test: deps
	scripts/install-deps --test
	scripts/run-tests

# Each fuzz target under libFuzzer for FUZZ_SECONDS (default 60) s; findings in
# .build-fuzz/findings/ (Fuzz/README.md). `make test` only replays the seed corpus.
fuzz: deps
	scripts/fuzz run

# The unit tests under AddressSanitizer and ThreadSanitizer, in .build-asan and .build-tsan
# (Fuzz/README.md); about half an hour on two cores.
sanitize: deps
	scripts/install-deps --test
	scripts/sanitize

# The container image, localhost/lava-runner:dev, from the Dockerfile's `prebuilt` target with
# buildah (no docker engine, no image pulls: the base is made with debootstrap), and its checks.
image: deps
	scripts/build-image

check-image: image
	scripts/check-image

# The Dockerfile's lint and libraries, the chart rendered and validated; then the image.
check-packaging: deps
	scripts/install-deps --test
	scripts/check-packaging
	scripts/build-image
	scripts/check-image

lint:
	$(SWIFT) format lint --strict -r Sources Tests Package.swift

clean:
	rm -rf .build .build-fuzz .build-asan .build-tsan
