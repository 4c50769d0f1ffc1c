import Foundation

/// A private CA and the certificates the TLS tests serve or present, generated with the
/// `openssl` command line tool into a fresh temporary directory (EC P-256 keys: a set takes
/// well under a second). Every file is PEM.
///
/// - `ca`: the CA the runner is told to trust; it signs `server`, `expired`, `mismatched` and
///   `client`.
/// - `otherCA`: a CA nobody is told to trust; it signs `foreign`.
/// - `server`: for `127.0.0.1` and `localhost`, valid now.
/// - `expired`: like `server` but valid only on 1 January 2020.
/// - `mismatched`: valid now, but for `other.invalid` only.
/// - `foreign`: like `server`, signed by `otherCA`.
/// - `client`: a client certificate (extended key usage clientAuth).
public struct TestCertificates: Sendable {
  public struct Pair: Sendable {
    public let certificate: URL
    public let key: URL
  }

  public let directory: URL
  public let ca: URL
  public let otherCA: URL
  public let server: Pair
  public let expired: Pair
  public let mismatched: Pair
  public let foreign: Pair
  public let client: Pair

  /// One set per test process: generating is cheap but there is no need to repeat it.
  public static func shared() throws -> TestCertificates {
    try sharedSet.get()
  }

  private static let sharedSet = Result { try TestCertificates.generate() }

  /// Generates a new set in a new temporary directory.
  public static func generate() throws -> TestCertificates {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("lava-runner-tls-\(UUID().uuidString)")
    try FileManager.default.createDirectory(
      at: directory.appendingPathComponent("db"), withIntermediateDirectories: true)
    let generator = Generator(directory: directory)
    try generator.prepareDatabase()
    try generator.selfSigned("ca", subject: "lava-runner test CA")
    try generator.selfSigned("other-ca", subject: "lava-runner untrusted test CA")
    let loopback = "IP:127.0.0.1,DNS:localhost"
    try generator.signed("server", commonName: "127.0.0.1", san: loopback, by: "ca", profile: "server")
    try generator.signed(
      "expired", commonName: "127.0.0.1", san: loopback, by: "ca", profile: "server",
      validity: ["-startdate", "20200101000000Z", "-enddate", "20200102000000Z"])
    try generator.signed(
      "mismatched", commonName: "other.invalid", san: "DNS:other.invalid", by: "ca", profile: "server")
    try generator.signed("foreign", commonName: "127.0.0.1", san: loopback, by: "other-ca", profile: "server")
    try generator.signed(
      "client", commonName: "lava-runner-client", san: "DNS:lava-runner-client", by: "ca", profile: "client")
    func pair(_ name: String) -> Pair {
      Pair(
        certificate: directory.appendingPathComponent("\(name).pem"),
        key: directory.appendingPathComponent("\(name).key"))
    }
    return TestCertificates(
      directory: directory, ca: directory.appendingPathComponent("ca.pem"),
      otherCA: directory.appendingPathComponent("other-ca.pem"), server: pair("server"),
      expired: pair("expired"), mismatched: pair("mismatched"), foreign: pair("foreign"),
      client: pair("client"))
  }

  private struct Generator {
    let directory: URL

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// `openssl ca` keeps a database; with it any validity period can be given, past ones too.
    func prepareDatabase() throws {
      try Data().write(to: directory.appendingPathComponent("db/index.txt"))
      try Data("1000\n".utf8).write(to: directory.appendingPathComponent("db/serial"))
      let configuration = """
        [ca]
        default_ca = test
        [test]
        database = \(path("db/index.txt"))
        new_certs_dir = \(path("db"))
        serial = \(path("db/serial"))
        default_md = sha256
        default_days = 2
        policy = anything
        unique_subject = no
        [anything]
        commonName = supplied
        [server]
        basicConstraints = CA:false
        extendedKeyUsage = serverAuth
        subjectAltName = $ENV::SAN
        [client]
        basicConstraints = CA:false
        extendedKeyUsage = clientAuth
        subjectAltName = $ENV::SAN

        """
      try Data(configuration.utf8).write(to: directory.appendingPathComponent("ca.cnf"))
    }

    func key(_ name: String) throws {
      try TLSTool.run(
        "openssl",
        ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path("\(name).key")])
    }

    func selfSigned(_ name: String, subject: String) throws {
      try key(name)
      try TLSTool.run(
        "openssl",
        [
          "req", "-x509", "-new", "-key", path("\(name).key"), "-subj", "/CN=\(subject)", "-days", "2",
          "-addext", "basicConstraints=critical,CA:true", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
          "-out", path("\(name).pem"),
        ])
    }

    func signed(
      _ name: String, commonName: String, san: String, by ca: String, profile: String, validity: [String] = []
    ) throws {
      try key(name)
      try TLSTool.run(
        "openssl",
        [
          "req", "-new", "-key", path("\(name).key"), "-subj", "/CN=\(commonName)", "-out",
          path("\(name).csr"),
        ])
      try TLSTool.run(
        "openssl",
        [
          "ca", "-batch", "-notext", "-config", path("ca.cnf"), "-keyfile", path("\(ca).key"), "-cert",
          path("\(ca).pem"), "-extensions", profile, "-in", path("\(name).csr"), "-out", path("\(name).pem"),
        ] + validity, environment: ["SAN": san])
    }
  }
}

/// Runs the command line tools the TLS tests need, failing with what to install when missing.
enum TLSTool {
  static func run(_ tool: String, _ arguments: [String], environment: [String: String] = [:]) throws {
    let process = Process()
    process.executableURL = try executable(tool)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let errors = Pipe()
    process.standardError = errors
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    let output = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      throw TLSTestError.toolFailed(
        tool: tool, arguments: arguments, status: process.terminationStatus,
        output: String(decoding: output, as: UTF8.self))
    }
  }

  /// The tool's path on PATH; the TLS tests are part of `make test`, so a missing tool is an
  /// error, not a reason to skip.
  static func executable(_ tool: String) throws -> URL {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for directory in path.split(separator: ":") {
      let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent(tool)
      if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
    }
    throw TLSTestError.toolMissing(tool)
  }
}

public enum TLSTestError: Error, CustomStringConvertible {
  case toolMissing(String)
  case toolFailed(tool: String, arguments: [String], status: Int32, output: String)
  case proxyDidNotStart(String)

  public var description: String {
    switch self {
    case .toolMissing(let tool):
      "The TLS tests need `\(tool)` on PATH: run `scripts/install-deps --test` (Debian packages openssl, python3)."
    case .toolFailed(let tool, let arguments, let status, let output):
      "`\(tool) \(arguments.joined(separator: " "))` exited with \(status): \(output)"
    case .proxyDidNotStart(let output):
      "The TLS proxy did not start: \(output)"
    }
  }
}
