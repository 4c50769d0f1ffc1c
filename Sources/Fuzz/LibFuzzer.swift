#if FUZZING
  import Foundation

  /// The target the fuzzer runs, chosen once by `LLVMFuzzerInitialize` before the first input.
  nonisolated(unsafe) private var selected: FuzzTarget?

  /// libFuzzer's driver, linked in by `-sanitize=fuzzer`. Whether libFuzzer's own `main` or the
  /// one of `FuzzMain` ends up as the program's entry, both reach the same driver, which calls
  /// the two functions below.
  @_silgen_name("LLVMFuzzerRunDriver")
  private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
  ) -> CInt

  /// Called by libFuzzer before it reads its options: takes the target name from `argv[1]`
  /// (or, in the children of -fork, -jobs and -merge, from the environment) and removes it.
  @_cdecl("LLVMFuzzerInitialize")
  func fuzzerInitialize(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>
  ) -> CInt {
    let arguments = (0..<Int(argc.pointee)).map { String(cString: argv.pointee[$0]!) }
    if arguments.count > 1, let target = FuzzTarget.named(arguments[1]) {
      selected = target
      argv.pointee[1] = argv.pointee[0]
      argv.pointee += 1
      argc.pointee -= 1
    } else if let name = ProcessInfo.processInfo.environment[FuzzMain.environmentKey] {
      selected = FuzzTarget.named(name)
    }
    guard let selected else {
      FuzzMain.usage(arguments.first ?? "Fuzz")
      exit(2)
    }
    setenv(FuzzMain.environmentKey, selected.name, 1)
    return 0
  }

  @_cdecl("LLVMFuzzerTestOneInput")
  func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    selected?.run(data.map { Data(bytes: $0, count: size) } ?? Data())
    return 0
  }

  enum LibFuzzer {
    static func run() -> CInt {
      var argc = CommandLine.argc
      var argv = CommandLine.unsafeArgv
      return LLVMFuzzerRunDriver(&argc, &argv, fuzzerTestOneInput)
    }
  }
#endif
