import Foundation

/// A TLS-terminating proxy on 127.0.0.1 in front of a plain HTTP server on loopback (the fake
/// GitLab, its object storage, the real LAVA test server), so that the runner talks HTTPS to
/// servers that have no TLS of their own.
///
/// It is Python's `ssl` module in a child process (`python3`, a test dependency that
/// `scripts/install-deps --test` installs): it serves the given certificate, optionally
/// requires a client certificate signed by `clientCA`, and relays bytes both ways. Failed
/// handshakes are written to `handshakeFailures` as Python/OpenSSL names them.
///
/// ```swift
/// let certificates = try TestCertificates.shared()
/// let proxy = try TLSProxy.start(serving: certificates.server, to: 8080)
/// defer { proxy.stop() }
/// // https://127.0.0.1:\(proxy.port)/ reaches http://127.0.0.1:8080/
/// ```
public final class TLSProxy: @unchecked Sendable {
  public let port: UInt16
  private let process: Process
  private let errorFile: URL

  /// `https://127.0.0.1:<port>`, or with another host name that resolves to loopback.
  public func url(host: String = "127.0.0.1") -> URL {
    URL(string: "https://\(host):\(port)")!
  }

  /// Handshakes the proxy refused, one line each, e.g. "handshake failed: [SSL:
  /// PEER_DID_NOT_RETURN_A_CERTIFICATE] peer did not return a certificate".
  public var handshakeFailures: [String] {
    let text = (try? String(contentsOf: errorFile, encoding: .utf8)) ?? ""
    return text.split(separator: "\n").map(String.init).filter { $0.hasPrefix("handshake failed") }
  }

  private init(port: UInt16, process: Process, errorFile: URL) {
    self.port = port
    self.process = process
    self.errorFile = errorFile
  }

  /// Starts a proxy for `http://127.0.0.1:<upstreamPort>` and returns once it listens.
  public static func start(
    serving pair: TestCertificates.Pair, to upstreamPort: UInt16,
    requiringClientCertificatesFrom clientCA: URL? = nil
  ) throws -> TLSProxy {
    let process = Process()
    process.executableURL = try TLSTool.executable("python3")
    process.arguments = [
      "-c", script, pair.certificate.path, pair.key.path, String(upstreamPort), clientCA?.path ?? "",
    ]
    let errorFile = FileManager.default.temporaryDirectory
      .appendingPathComponent("lava-runner-tls-proxy-\(UUID().uuidString).log")
    _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
    let output = Pipe()
    process.standardOutput = output
    process.standardError = try FileHandle(forWritingTo: errorFile)
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // The first line is the port it listens on; EOF before it means it failed to start.
    var line = Data()
    while !line.contains(10) {
      let chunk = output.fileHandleForReading.availableData
      if chunk.isEmpty { break }
      line.append(chunk)
    }
    guard let text = String(data: line, encoding: .utf8)?.split(separator: "\n").first,
      let port = UInt16(text.trimmingCharacters(in: .whitespaces))
    else {
      process.terminate()
      process.waitUntilExit()
      throw TLSTestError.proxyDidNotStart((try? String(contentsOf: errorFile, encoding: .utf8)) ?? "")
    }
    return TLSProxy(port: port, process: process, errorFile: errorFile)
  }

  /// Ends the proxy with SIGKILL: a child may inherit SIGTERM blocked or ignored from the
  /// test process's threads, and the proxy has no state worth a clean exit.
  public func stop() {
    if process.isRunning {
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
    }
    try? FileManager.default.removeItem(at: errorFile)
  }

  deinit { stop() }

  /// One thread per connection: the handshake, then a select loop relaying both ways until
  /// either side closes. Reading and writing one SSL object from two threads is not safe, hence
  /// the single loop.
  static let script = #"""
    import os, select, signal, socket, ssl, sys, threading, time
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
    signal.signal(signal.SIGTERM, signal.SIG_DFL)

    # Ends with the test process even when it exits without stopping the proxy (a proxy left
    # running by a test process that ended outlived a CI run here).
    def orphaned(parent=os.getppid()):
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=orphaned, daemon=True).start()
    cert, key, port, client_ca = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    if client_ca:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(client_ca)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    print(listener.getsockname()[1], flush=True)

    def linger(conn):
        # Like a web server's lingering close: without it, the request a TLS 1.3 client sent
        # after its side of the handshake makes the close a reset, which can overtake the alert.
        # (SSLSocket.shutdown leaves TLS: what follows is plain socket calls.)
        try:
            conn.shutdown(socket.SHUT_WR)
            conn.settimeout(2)
            while conn.recv(65536):
                pass
        except OSError:
            pass
        conn.close()

    def relay(raw):
        raw.settimeout(30)
        conn = context.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
        try:
            conn.do_handshake()
        except (OSError, ssl.SSLError) as error:
            print("handshake failed:", error, file=sys.stderr, flush=True)
            linger(conn)
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", port), timeout=30)
        except OSError as error:
            print("upstream refused:", error, file=sys.stderr, flush=True)
            conn.close()
            return
        conn.settimeout(None)
        upstream.settimeout(None)
        try:
            while True:
                ready = [conn] if conn.pending() else select.select([conn, upstream], [], [], 600)[0]
                if not ready:
                    break
                for source in ready:
                    target = upstream if source is conn else conn
                    data = source.recv(65536)
                    if not data:
                        return
                    target.sendall(data)
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()
            upstream.close()

    while True:
        client, _ = listener.accept()
        threading.Thread(target=relay, args=(client,), daemon=True).start()
    """#
}
