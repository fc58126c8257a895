import Glibc
import MiniJSON

#if FUZZING
  // Built with `-sanitize=fuzzer`: libFuzzer drives `Differential.check`.
  // SwiftPM links an executable's entry as `<module>_main`, so that is the
  // name libFuzzer's driver is started from.
  @_silgen_name("LLVMFuzzerRunDriver")
  func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
  ) -> CInt

  @_cdecl("json_fuzz_main")
  func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
      let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
      if let problem = Differential.check(bytes) {
        print("finding: \(problem)")
        abort()
      }
      return 0
    }
  }
#else
  /// `json-fuzz replay FILE|DIR…` runs inputs (the seed corpus, a finding)
  /// through the same differential check; `json-fuzz bench` times the parsers.
  @main
  struct JSONFuzzCommand {
    static func main() {
      let arguments = Array(CommandLine.arguments.dropFirst())
      switch arguments.first {
      case "bench": ParserBenchmark.run()
      case "replay": exit(CorpusReplay.run(paths: Array(arguments.dropFirst())))
      default:
        print("usage: json-fuzz bench | json-fuzz replay FILE|DIR…")
        exit(2)
      }
    }
  }
#endif
