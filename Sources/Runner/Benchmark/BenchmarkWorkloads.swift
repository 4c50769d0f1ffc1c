import Foundation
import RunnerCore

/// Deterministic inputs for `lava-runner benchmark`: the same bytes on every run and machine, so
/// figures from two runs compare.
enum BenchmarkWorkloads {
  /// A job log as the trace receives it, one write per line, with the secrets it hides.
  struct JobLog {
    let lines: [String]
    let byteCount: Int
    let secrets: [String]
    /// How many `[MASKED]` the output must hold with the secrets, and with the defaults only
    /// (token prefixes and URL parameters).
    let maskedWithSecrets: Int
    let maskedByDefaults: Int
  }

  /// LAVA `logs/` reply bodies: one where every line is JSON, one where every line needs the
  /// YAML fallback (LAVA's tagged scalars, `! "558"`).
  struct LAVALogBodies {
    let json: Data
    let jsonLineCount: Int
    let yaml: Data
    let yamlLineCount: Int
  }

  static let secretCount = 10
  /// One line in this many carries a secret; one in `tokenEvery` a `glpat-` token or a URL
  /// with a `private_token` parameter.
  static let secretEvery = 200
  static let tokenEvery = 1000

  static func jobLog(bytes target: Int) -> JobLog {
    var random = BenchmarkRandom(seed: 0x6C61_7661)
    let secrets = (0..<secretCount).map { _ in random.alphanumeric(count: 16 + random.below(25)) }
    var lines: [String] = []
    var byteCount = 0
    var withSecrets = 0
    var byDefaults = 0
    var index = 0
    while byteCount < target {
      let line: String
      if index % tokenEvery == tokenEvery / 2 {
        line =
          "+ curl https://gitlab.example.com/api/v4/projects?private_token=\(random.alphanumeric(count: 20))\n"
        byDefaults += 1
      } else if index % tokenEvery == tokenEvery - 1 {
        line =
          "+ git clone https://oauth2:glpat-\(random.alphanumeric(count: 20))@gitlab.example.com/a/b.git\n"
        byDefaults += 1
      } else if index % secretEvery == secretEvery / 3 {
        line = "+ export DEPLOY_KEY=\(secrets[random.below(secrets.count)]) && deploy --quiet\n"
        withSecrets += 1
      } else {
        line = targetLine(index, &random)
      }
      lines.append(line)
      byteCount += line.utf8.count
      index += 1
    }
    return JobLog(
      lines: lines, byteCount: byteCount, secrets: secrets,
      maskedWithSecrets: withSecrets + byDefaults, maskedByDefaults: byDefaults)
  }

  static func lavaLogBodies(jsonLines: Int, yamlLines: Int) -> LAVALogBodies {
    var random = BenchmarkRandom(seed: 0x6C6F_6773)
    var json = ""
    for index in 0..<jsonLines {
      let stamp = timestamp(index)
      if index % 50 == 49 {
        json +=
          #"- {"dt": "\#(stamp)", "lvl": "results", "msg": {"case": "test-\#(index)", "#
          + #""definition": "0_smoke", "result": "pass"}}"# + "\n"
      } else {
        let level = ["target", "target", "target", "debug", "info"][index % 5]
        let message = targetLine(index, &random).dropLast().replacing("\"", with: "\\\"")
        json += #"- {"dt": "\#(stamp)", "lvl": "\#(level)", "msg": "\#(message)"}"# + "\n"
      }
    }
    var yaml = ""
    for index in 0..<yamlLines {
      yaml +=
        #"- {"dt": "\#(timestamp(index))", "lvl": "results", "msg": {"case": "test-\#(index)", "#
        + #""definition": "0_smoke", "endtc": ! "\#(558 + index)", "result": "pass", "#
        + #""starttc": ! "\#(512 + index)"}}"# + "\n"
    }
    return LAVALogBodies(
      json: Data(json.utf8), jsonLineCount: jsonLines, yaml: Data(yaml.utf8), yamlLineCount: yamlLines)
  }

  /// A kernel or test-shell line as a board prints it; some carry quotes to escape in JSON.
  private static func targetLine(_ index: Int, _ random: inout BenchmarkRandom) -> String {
    let seconds = "\(index / 1000).\(String(index % 1000 * 997 % 1_000_000))"
    switch index % 6 {
    case 0:
      return "[\(seconds)] usb 1-1: new high-speed USB device number \(random.below(128)) using xhci-hcd\n"
    case 1: return "[\(seconds)] mmc0: new HS200 MMC card at address \(random.below(9999))\n"
    case 2: return "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=case-\(index) RESULT=pass>\n"
    case 3: return "Received signal: <TESTCASE> TEST_CASE_ID=\"case-\(index)\" RESULT=pass\n"
    case 4: return "[\(seconds)] EXT4-fs (mmcblk0p2): mounted filesystem with ordered data mode\n"
    default: return "+ ./run-test.sh --iterations \(random.below(100)) --output /tmp/results-\(index).txt\n"
    }
  }

  private static func timestamp(_ index: Int) -> String {
    let minute = index / 60_000 % 60
    let second = index / 1000 % 60
    let micro = index % 1000 * 1000
    return "2026-11-29T05:\(pad(minute, 2)):\(pad(second, 2)).\(pad(micro, 6))"
  }

  private static func pad(_ value: Int, _ width: Int) -> String {
    let text = String(value)
    return String(repeating: "0", count: max(0, width - text.count)) + text
  }
}

/// A small seeded generator: `SystemRandomNumberGenerator` would give other bytes every run.
struct BenchmarkRandom: RandomNumberGenerator {
  private var state: UInt64

  init(seed: UInt64) { state = seed }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var value = state
    value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
    value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
    return value ^ (value >> 31)
  }

  mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

  mutating func alphanumeric(count: Int) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
    return String((0..<count).map { _ in alphabet[below(alphabet.count)] })
  }
}
