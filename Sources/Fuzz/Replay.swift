import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The fuzz targets without libFuzzer: every corpus file once, then, for `--mutate-seconds`,
/// inputs made from the corpus by a seeded, repeatable mutator (flips, cuts, repeats, splices).
/// `make test` runs this for a few seconds per target.
///
/// A crash or a failed property writes the input to `crash-<target>-replay` in `--crash-dir`
/// (default: the current folder) before the process dies, as libFuzzer would, so that
/// `Fuzz TARGET FILE` replays it; an input that runs longer than 10 s is saved the same way.
enum Replay {
  static let perInputSeconds: UInt32 = 10

  static func run(_ target: FuzzTarget, arguments: [String]) -> CInt {
    var mutateSeconds = 0.0
    var seed: UInt64 = 1
    var crashDirectory = FileManager.default.currentDirectoryPath
    var paths: [String] = []
    var remaining = arguments[...]
    while let argument = remaining.popFirst() {
      switch argument {
      case "--mutate-seconds":
        guard let value = remaining.popFirst().flatMap(Double.init), value >= 0 else {
          return fail("--mutate-seconds needs a number of seconds")
        }
        mutateSeconds = value
      case "--seed":
        guard let value = remaining.popFirst().flatMap({ UInt64($0) }) else {
          return fail("--seed needs a non-negative integer")
        }
        seed = value
      case "--crash-dir":
        guard let value = remaining.popFirst() else { return fail("--crash-dir needs a folder") }
        crashDirectory = value
      case let option where option.hasPrefix("-"):
        return fail("unknown option \(option) (libFuzzer options need the fuzzer build: make fuzz)")
      default:
        paths.append(argument)
      }
    }
    let corpus: [Data]
    do {
      corpus = try inputs(at: paths)
    } catch {
      return fail("\(error)")
    }
    CrashCapture.install(path: crashDirectory + "/crash-\(target.name)-replay")

    let start = Date()
    for input in corpus { CrashCapture.running(input, target.run) }
    var mutator = Mutator(seed: seed, corpus: corpus.isEmpty ? [Data()] : corpus)
    var mutated = 0
    while Date().timeIntervalSince(start) < mutateSeconds {
      // Between clock readings: the clock costs more than most inputs.
      for _ in 0..<64 {
        CrashCapture.running(mutator.next(), target.run)
        mutated += 1
      }
    }
    let seconds = String(format: "%.1f", Date().timeIntervalSince(start))
    print("\(target.name): \(corpus.count) corpus inputs and \(mutated) mutated ones passed in \(seconds) s")
    return 0
  }

  static func fail(_ message: String) -> CInt {
    FileHandle.standardError.write(Data("Fuzz: \(message)\n".utf8))
    return 2
  }

  /// The files named and the files in the folders named (not recursive), in name order.
  static func inputs(at paths: [String]) throws -> [Data] {
    var files: [URL] = []
    for path in paths {
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw ReplayError.missing(path)
      }
      if isDirectory.boolValue {
        let names = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
        files += names.filter { !$0.hasPrefix(".") }.map {
          URL(fileURLWithPath: path).appendingPathComponent($0)
        }
      } else {
        files.append(URL(fileURLWithPath: path))
      }
    }
    return try files.map { try Data(contentsOf: $0) }
  }

  enum ReplayError: Error, CustomStringConvertible {
    case missing(String)
    var description: String {
      switch self {
      case .missing(let path): "\(path) does not exist"
      }
    }
  }
}

/// Saves the input being run when the process dies of a signal (a Swift trap is SIGILL or
/// SIGTRAP, `fuzzCheck` is SIGABRT) or runs too long, then lets the previous handler (Swift's
/// backtracer) report the crash.
enum CrashCapture {
  nonisolated(unsafe) static var path: UnsafeMutablePointer<CChar>?
  nonisolated(unsafe) static var current: UnsafeRawBufferPointer?
  /// The handlers before ours, by signal number: read in the handler, so never resized there.
  nonisolated(unsafe) static var previous: [sigaction] = Array(repeating: sigaction(), count: 65)
  static let signals = [SIGILL, SIGTRAP, SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGALRM]

  static func install(path: String) {
    self.path = strdup(path)
    for number in signals {
      var action = sigaction()
      action.__sigaction_handler.sa_handler = { number in
        CrashCapture.save()
        if number == SIGALRM {
          let message = "Fuzz: an input ran longer than \(Replay.perInputSeconds) s\n"
          _ = message.withCString { write(2, $0, strlen($0)) }
          _exit(1)
        }
        var old = CrashCapture.previous[Int(number)]
        sigaction(number, &old, nil)
        raise(number)
      }
      sigemptyset(&action.sa_mask)
      var old = sigaction()
      sigaction(number, &action, &old)
      previous[Int(number)] = old
    }
  }

  static func running(_ input: Data, _ body: (Data) -> Void) {
    input.withUnsafeBytes { bytes in
      current = bytes
      alarm(Replay.perInputSeconds)
      body(input)
      alarm(0)
      current = nil
    }
  }

  /// Only async-signal-safe calls: open, write, close.
  static func save() {
    guard let path, let current else { return }
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard descriptor >= 0 else { return }
    if let base = current.baseAddress { _ = write(descriptor, base, current.count) }
    close(descriptor)
    let note = "Fuzz: the input is saved in "
    _ = note.withCString { write(2, $0, strlen($0)) }
    _ = write(2, path, strlen(path))
    _ = "\n".withCString { write(2, $0, 1) }
  }
}

/// A seeded mutator: the same seed and corpus give the same inputs on every machine.
struct Mutator {
  var state: UInt64
  let corpus: [Data]
  /// Bytes that change how parsers branch: quotes, brackets, separators, digits, escapes.
  static let interesting =
    Array("\"'\\{}[]:,-#&*!|>%\n\r\t 0919:\u{0}\u{1B}\u{7F}".utf8) + [0xC3, 0xFF, 0xE2, 0x80]

  init(seed: UInt64, corpus: [Data]) {
    state = seed
    self.corpus = corpus
  }

  /// SplitMix64.
  mutating func random() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  mutating func below(_ bound: Int) -> Int {
    bound <= 0 ? 0 : Int(random() % UInt64(bound))
  }

  mutating func next() -> Data {
    var bytes = [UInt8](corpus[below(corpus.count)])
    for _ in 0...below(4) {
      let at = below(bytes.count + 1)
      switch below(7) {
      case 0 where !bytes.isEmpty:
        bytes[min(at, bytes.count - 1)] ^= UInt8(1 << below(8))
      case 1:
        bytes.insert(Self.interesting[below(Self.interesting.count)], at: at)
      case 2 where !bytes.isEmpty:
        bytes.removeSubrange(at..<min(bytes.count, at + 1 + below(16)))
      case 3:
        // Repeat a piece: deep nesting and long runs come from here.
        let end = min(bytes.count, at + 1 + below(32))
        let piece = bytes[at..<end]
        let times = 1 + below(64)
        bytes.insert(contentsOf: Array(repeating: piece, count: times).joined(), at: at)
      case 4:
        let other = corpus[below(corpus.count)]
        let from = below(other.count)
        let piece = other[other.startIndex + from..<other.startIndex + min(other.count, from + 1 + below(64))]
        bytes.insert(contentsOf: piece, at: at)
      case 5:
        bytes.removeSubrange(at...)
      default:
        if !bytes.isEmpty { bytes[min(at, bytes.count - 1)] = UInt8(truncatingIfNeeded: random()) }
      }
    }
    return Data(bytes.prefix(1 << 16))
  }
}
