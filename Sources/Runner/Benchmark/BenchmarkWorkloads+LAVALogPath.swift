import Foundation

extension BenchmarkWorkloads {
  /// A LAVA `logs/` stream as a busy job writes it, cut into reply bodies of `linesPerPage`
  /// lines: actions starting and ending, kernel and test-shell output (some with quotes,
  /// backslashes, colours, tabs and non-ASCII text as JSON escapes or UTF-8), debug lines,
  /// test-case signals, `results` mappings, multi-line message lists and, rarely, a YAML-tagged
  /// results line.
  struct LAVALogPages {
    let pages: [Data]
    let lineCount: Int
    let byteCount: Int
  }

  static func lavaLogPages(bytes target: Int, linesPerPage: Int = 5000) -> LAVALogPages {
    var random = BenchmarkRandom(seed: 0x7061_6765)
    var pages: [Data] = []
    var page = ""
    var inPage = 0
    var byteCount = 0
    var index = 0
    while byteCount < target {
      let line = lavaLogPathLine(index, &random)
      byteCount += line.utf8.count
      page += line
      inPage += 1
      index += 1
      if inPage == linesPerPage {
        pages.append(Data(page.utf8))
        page = ""
        inPage = 0
      }
    }
    if !page.isEmpty { pages.append(Data(page.utf8)) }
    return LAVALogPages(pages: pages, lineCount: index, byteCount: byteCount)
  }

  private static func lavaLogPathLine(_ index: Int, _ random: inout BenchmarkRandom) -> String {
    let stamp =
      #""dt": "2026-11-29T05:\#(pad2(index / 60_000 % 60)):\#(pad2(index / 1000 % 60)).\#(index % 1000 * 1000 + 123456)""#
    func line(_ level: String, _ message: String) -> String {
      "- {\(stamp), \"lvl\": \"\(level)\", \"msg\": \(message)}\n"
    }
    let action = index / 400
    switch index % 400 {
    case 0: return line("info", #""start: \#(action) boot-image-retry (timeout 00:02:00) [common]""#)
    case 399: return line("info", #""end: \#(action) boot-image-retry (duration 00:00:03) [common]""#)
    case 200: return line("target", #""<LAVA_SIGNAL_STARTTC case-\#(index)>""#)
    case 210: return line("target", #""<LAVA_SIGNAL_ENDTC case-\#(index - 10)>""#)
    case 211:
      return line(
        "results",
        #"{"case": "case-\#(index - 11)", "definition": "0_smoke", "result": "\#(index % 3 == 0 ? "fail" : "pass")"}"#
      )
    case 300:
      return
        "- {\(stamp), \"lvl\": \"results\", \"msg\": {\"case\": \"t-\(index)\", \"definition\": \"1_more\", "
        + "\"endtc\": ! \"\(index)\", \"result\": \"pass\"}}\n"
    default: break
    }
    switch index % 10 {
    case 0:
      return line("debug", #""Calling: 'nice' 'mkimage' '-A' 'arm64' '-T' 'ramdisk' '-d' 'ramdisk.cpio.gz'""#)
    case 1: return line("info", #""Setting prompt string to ['root@debian:~# ', 'Login incorrect']""#)
    case 2:
      return line(
        "target",
        #""[   \#(index / 1000).\#(100_000 + index % 900_000)] usb 1-1: new high-speed USB device number \#(random.below(128)) using xhci-hcd""#
      )
    case 3:
      return line(
        "target", #""+ grep -q \"ok\" /tmp/out.txt \u0026\u0026 echo \"caf\u00e9 na\u00efve\" \\ done""#)
    case 4:
      return line(
        "target", "\"\\u001b[32mPASS\\u001b[0m: überprüfung läuft 日本語 \\t col \(random.below(1000))\"")
    case 5: return line("input", #""root\n""#)
    case 6: return line("debug", #"["first line of a list", "second line", "third"]"#)
    case 7: return line("target", #""Progress: \#(random.below(100))%\r""#)
    default:
      return line(
        "target",
        #""[   \#(index / 1000).\#(100_000 + index % 900_000)] EXT4-fs (mmcblk0p2): mounted filesystem with ordered data mode. Opts: (null)""#
      )
    }
  }

  private static func pad2(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
