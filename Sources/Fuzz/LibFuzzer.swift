#if FUZZING
  import Foundation

  /// libFuzzer's driver, linked in by `-sanitize=fuzzer`. SwiftPM gives an executable target its
  /// own `main`, so libFuzzer's is not used: this one is called instead, with the callback.
  @_silgen_name("LLVMFuzzerRunDriver")
  private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
  ) -> CInt

  /// The target libFuzzer's callback runs; set once, before the driver starts.
  nonisolated(unsafe) private var selected: FuzzTarget?

  enum LibFuzzer {
    static func run(_ target: FuzzTarget, arguments: [String]) -> CInt {
      selected = target
      var argc = CInt(arguments.count)
      let pointers = arguments.map { strdup($0) } + [nil]
      let argv = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: pointers.count)
      argv.initialize(from: pointers, count: pointers.count)
      var argvPointer = argv
      return LLVMFuzzerRunDriver(&argc, &argvPointer) { data, size in
        let bytes = data.map { Data(bytes: $0, count: size) } ?? Data()
        selected?.run(bytes)
        return 0
      }
    }
  }
#endif
