// swift-tools-version: 6.2
import PackageDescription

// Every target of ours: no warning allowed (applied to this package only, never to the
// dependencies).
let strict: [SwiftSetting] = [
  .enableUpcomingFeature("ExistentialAny"),
  .treatAllWarnings(as: .error),
]

// What the runner's test targets (the unit tier and the system tier) see: every layer.
let runnerTestDependencies: [Target.Dependency] = [
  "Runner", "Protocols", "Commands", "RunnerCore", "HTTP", "YAML", "GitLabAPI", "LAVA", "JobEngine",
  "TestSupport",
  .product(name: "FlyingFox", package: "FlyingFox"),
]

let package = Package(
  name: "lava-runner",
  platforms: [.macOS(.v14)],
  products: [
    .executable(name: "lava-runner", targets: ["Runner"])
  ],
  dependencies: [
    // The CLI and every script command parse their arguments with it: --help, defaults and
    // precise errors for free, on any token array.
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    // The runner's own log: levels and metadata (job ids) passed down as a Logger.
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    // Small HTTP servers: the runner's /metrics and /health endpoints, and in the tests the
    // strict fake GitLab and misbehaving servers.
    .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
    // The runner is a Service: signals, graceful shutdown and the metrics server in one group.
    .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    // Counters, gauges and timers named like the official runner's, exported by Prometheus.
    .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
    .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    // Artifact zips: read a dependency's archive entry by entry and write the upload archive
    // streamed from disk, without holding whole files in memory; the fake GitLab serves and
    // checks zips with it too.
    .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
    // LAVA job definitions templated with the job's variables ({{ job.NAME }}), the syntax the
    // original lava-gitlab-runner's handlebars templates used; rendered without HTML escaping.
    .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
  ],
  targets: [
    // libcurl: every HTTP request the runner makes (GitLab, LAVA, artifact storage).
    .systemLibrary(
      name: "CCurl",
      pkgConfig: "libcurl",
      providers: [.apt(["libcurl4-openssl-dev"])]
    ),
    // libyaml: LAVA job definitions and LAVA log lines, with line and column.
    .systemLibrary(
      name: "CYAML",
      pkgConfig: "yaml-0.1",
      providers: [.apt(["libyaml-dev"])]
    ),
    // zlib: gzip members for JUnit report uploads and the CRC-32 of the job log. Named CZlibShim
    // because ZIPFoundation declares a module CZlib of its own (not exported as a product).
    .systemLibrary(
      name: "CZlibShim",
      providers: [.apt(["zlib1g-dev"])]
    ),
    // The contract a command sees: the command protocol, its metadata, the job context.
    .target(
      name: "Protocols",
      dependencies: [.product(name: "ArgumentParser", package: "swift-argument-parser")],
      swiftSettings: strict
    ),
    // One file per script command, and the list that registers them.
    .target(
      name: "Commands",
      dependencies: [
        "Protocols",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Mustache", package: "swift-mustache"),
      ],
      swiftSettings: strict
    ),
    // The layers below the executable, each seeing only the ones below it (ARCHITECTURE.md has the
    // graph; ArchitectureTests fails on an import that goes up or sideways).
    // Core: what every layer shares and nothing else: masking, backoff, slots and latches, the
    // runner's metrics, its version and a job's outcome.
    .target(
      name: "RunnerCore",
      dependencies: [
        "Protocols",
        .product(name: "Metrics", package: "swift-metrics"),
        .product(name: "Prometheus", package: "swift-prometheus"),
      ],
      swiftSettings: strict
    ),
    // HTTP through libcurl: one multi-handle thread, streamed bodies, redirects, TLS options.
    .target(
      name: "HTTP",
      dependencies: ["Protocols", "RunnerCore", "CCurl"],
      swiftSettings: strict
    ),
    // libyaml into a node tree with positions; `file:line:column` diagnostics.
    .target(
      name: "YAML",
      dependencies: ["CYAML"],
      swiftSettings: strict
    ),
    // GitLab's runner API: one method per endpoint, the job payload, the runner's identity.
    .target(
      name: "GitLabAPI",
      dependencies: ["Protocols", "RunnerCore", "HTTP"],
      swiftSettings: strict
    ),
    // LAVA's REST API, its log format and job definition checks: the `LAVAConnector` commands use.
    .target(
      name: "LAVA",
      dependencies: ["Protocols", "RunnerCore", "HTTP", "YAML"],
      swiftSettings: strict
    ),
    // Jobs from first line to final state: poller, job runner, the one executor, trace,
    // artifacts, the script interpreter and the job contexts (GitLab's and a local one).
    .target(
      name: "JobEngine",
      dependencies: [
        "Protocols", "RunnerCore", "HTTP", "GitLabAPI", "CZlibShim",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ZIPFoundation", package: "ZIPFoundation"),
      ],
      swiftSettings: strict
    ),
    // The lava-runner executable: CLI parsing and the service wiring (signals, status server,
    // the runner's own log) over the layers above.
    .executableTarget(
      name: "Runner",
      dependencies: [
        "Protocols", "Commands", "RunnerCore", "HTTP", "YAML", "GitLabAPI", "LAVA", "JobEngine",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "FlyingFox", package: "FlyingFox"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        .product(name: "Metrics", package: "swift-metrics"),
        .product(name: "Prometheus", package: "swift-prometheus"),
      ],
      swiftSettings: strict
    ),
    // Fuzz targets (Fuzz/README.md): one executable, `Fuzz TARGET`, for every reader of what
    // others write. A libFuzzer binary when built with `-sanitize=fuzzer -DFUZZING` (make fuzz);
    // otherwise it replays its corpus in Fuzz/Corpus and mutates it briefly (make test).
    .executableTarget(
      name: "Fuzz",
      dependencies: [
        "Protocols", "Commands", "RunnerCore", "HTTP", "YAML", "GitLabAPI", "LAVA", "JobEngine",
      ],
      swiftSettings: strict
    ),
    // Fakes and helpers shared by the test targets: local HTTP servers, the fake GitLab, the
    // fake LAVA, test-only script commands.
    .target(
      name: "TestSupport",
      dependencies: [
        "Protocols",
        "RunnerCore",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "FlyingFox", package: "FlyingFox"),
        .product(name: "ZIPFoundation", package: "ZIPFoundation"),
      ],
      path: "Tests/TestSupport",
      swiftSettings: strict
    ),
    // Benchmarks/e2e: lava-runner binaries as processes against the fake GitLab and the real LAVA
    // test server (Benchmarks/README.md); never part of the tests, it prints figures only.
    .executableTarget(
      name: "EndToEndBenchmark",
      dependencies: ["TestSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")],
      path: "Benchmarks/EndToEnd",
      swiftSettings: strict
    ),
    // Tests are in two tiers (scripts/run-tests): the unit tests (RunnerTests, FakeGitLabTests,
    // CommandsTests) run in parallel; SystemTests (the lava-runner binary against the fake
    // GitLab and a real LAVA, signals, packaging) run one at a time after them.
    .testTarget(
      name: "RunnerTests",
      dependencies: runnerTestDependencies,
      swiftSettings: strict
    ),
    .testTarget(
      name: "SystemTests",
      dependencies: runnerTestDependencies,
      swiftSettings: strict
    ),
    // The fake GitLab's own tests: it must be as strict as GitLab before runner tests trust it.
    .testTarget(
      name: "FakeGitLabTests",
      dependencies: ["TestSupport"],
      swiftSettings: strict
    ),
    .testTarget(
      name: "CommandsTests",
      dependencies: ["Commands", "Protocols", "TestSupport"],
      swiftSettings: strict
    ),
    // Benchmarks/e2e's own logic (options, table, log cache, job pool, submission proxy); the
    // benchmark itself is run by the script, never by the tests.
    .testTarget(
      name: "EndToEndBenchmarkTests",
      dependencies: ["EndToEndBenchmark", "TestSupport"],
      swiftSettings: strict
    ),
  ],
  swiftLanguageModes: [.v6]
)
