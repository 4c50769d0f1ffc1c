import Foundation

/// A test client: curl in a child process, so requests leave through a real socket exactly as
/// written (no client-side retries, redirects or `Expect: 100-continue` unless asked for).
struct Curl {
  struct Reply {
    var exitCode: Int32
    var status: Int
    var headers: [String: String]
    var body: Data

    var text: String { String(decoding: body, as: UTF8.self) }
    func header(_ name: String) -> String? { headers[name.lowercased()] }
    var json: [String: Any]? { try? JSONSerialization.jsonObject(with: body) as? [String: Any] }
  }

  static func send(
    _ method: String, _ url: String, headers: [String: String] = [:], body: Data? = nil,
    followRedirects: Bool = false
  ) async throws -> Reply {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("curl-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let headerFile = directory.appendingPathComponent("headers")
    let bodyFile = directory.appendingPathComponent("body")
    var arguments = [
      "-s", "-X", method, "-D", headerFile.path, "-o", bodyFile.path, "-w", "%{http_code}", "--max-time",
      "20",
      "-H", "Expect:",
    ]
    if followRedirects { arguments.append("-L") }
    for (name, value) in headers { arguments += ["-H", "\(name): \(value)"] }
    if let body {
      let bodyIn = directory.appendingPathComponent("in")
      try body.write(to: bodyIn)
      arguments += ["--data-binary", "@\(bodyIn.path)"]
    }
    arguments.append(url)
    let statusFile = directory.appendingPathComponent("status")
    try Data().write(to: statusFile)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    process.arguments = arguments
    process.standardOutput = try FileHandle(forWritingTo: statusFile)
    process.standardError = FileHandle.nullDevice
    // Wait without blocking a cooperative thread: the fake's server needs them to answer.
    let exitCode: Int32 = try await withCheckedThrowingContinuation { continuation in
      process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
      do { try process.run() } catch { continuation.resume(throwing: error) }
    }
    let status = Int(String(decoding: (try? Data(contentsOf: statusFile)) ?? Data(), as: UTF8.self)) ?? 0
    var parsed: [String: String] = [:]
    let rawHeaders = String(decoding: (try? Data(contentsOf: headerFile)) ?? Data(), as: UTF8.self)
    for line in rawHeaders.components(separatedBy: "\r\n") {
      guard let colon = line.firstIndex(of: ":") else { continue }
      parsed[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
        in: .whitespaces)
    }
    return Reply(
      exitCode: exitCode, status: status, headers: parsed, body: (try? Data(contentsOf: bodyFile)) ?? Data())
  }

  static func json(_ object: [String: Any]) -> Data {
    (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
  }
}
