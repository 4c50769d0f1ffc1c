/// How much of LAVA's replies a client takes in, so that a runner serving many jobs keeps its
/// memory and disk bounded whatever one LAVA job produces.
package struct LAVAReplyLimits: Sendable, Equatable {
  /// Any reply read into memory (job detail, list pages, error bodies).
  package var replyBody = 16 << 20
  /// One `jobs/<id>/logs/` reply. LAVA pages logs by line index, so a reply past it is asked
  /// again for fewer lines.
  package var logReply = 64 << 20
  /// One log line: longer lines are kept up to here and end with a visible marker.
  package var logLine = 1 << 20
  /// The JUnit report, downloaded to disk: past it the download stops and no report is kept.
  package var junit: Int64 = 256 << 20

  package init() {}
}
