import FoundationEssentials

/// Runs files through `Differential.check`; 1 if any disagrees.
enum CorpusReplay {
  static func run(paths: [String]) -> Int32 {
    var files: [String] = []
    for path in paths {
      if let names = try? FileManager.default.contentsOfDirectory(atPath: path) {
        files += names.sorted().map { path + "/" + $0 }
      } else {
        files.append(path)
      }
    }
    var failed = 0
    for file in files {
      guard let data = FileManager.default.contents(atPath: file) else {
        print("cannot read \(file)")
        failed += 1
        continue
      }
      if let problem = Differential.check([UInt8](data)) {
        print("\(file): \(problem)")
        failed += 1
      }
    }
    print("\(files.count - failed) passed, \(failed) failed")
    return failed == 0 ? 0 : 1
  }
}
