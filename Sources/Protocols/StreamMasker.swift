/// Masks a stream of bytes written in pieces, as the job log is masked: every occurrence of a
/// secret (raw, escaped or encoded) becomes `[MASKED]`, however the stream is split. Bytes that
/// may begin a secret are held back until the next write shows whether they do.
public protocol StreamMasker: Sendable {
  /// Masks the next piece and returns what can be released now.
  mutating func write(_ bytes: some Sequence<UInt8>) -> [UInt8]

  /// Releases what is held back: call once at the end of the stream.
  mutating func flush() -> [UInt8]
}
