import Foundation

/// Glue shared by the fuzz targets. `make fuzz` links each target with libFuzzer
/// (`-sanitize=fuzzer`) and libFuzzer calls its `LLVMFuzzerTestOneInput`; in the ordinary build
/// the same target is a replay tool (`.build/debug/FuzzRoutes Fuzz/corpus/Routes`) for
/// reproducing a crash input under a debugger.
public enum Fuzz {
    /// The input libFuzzer hands over, as an array (libFuzzer may pass a null pointer for size 0).
    public static func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
        guard let data, size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }

    /// An invariant of the code under test. A violation stops the process, which libFuzzer
    /// reports as a crash and saves the input for.
    public static func check(
        _ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line
    ) {
        guard !condition else { return }
        fatalError("fuzz invariant violated: \(message())", file: file, line: line)
    }

    /// The entry point of every fuzz target. Linked with libFuzzer (`-sanitize=fuzzer`), it hands
    /// control to libFuzzer's driver; otherwise it replays the files named on the command line.
    /// (SwiftPM links executables with their own `main`, so libFuzzer's is not used; its driver is
    /// looked up at run time so the ordinary build links without libFuzzer.)
    public static func main(_ test: ([UInt8]) -> Void, entry: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> Never {
        typealias Driver =
            @convention(c) (
                UnsafeMutablePointer<CInt>, UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
            ) -> CInt
        if let symbol = dlsym(dlopen(nil, RTLD_NOW), "LLVMFuzzerRunDriver") {
            let driver = unsafeBitCast(symbol, to: Driver.self)
            var argc = CommandLine.argc
            var argv = CommandLine.unsafeArgv
            exit(driver(&argc, &argv, entry))
        }
        replay(test)
        exit(0)
    }

    /// Runs `test` over every file named on the command line (directories are read one level
    /// deep), so a corpus or a crash input can be replayed without libFuzzer.
    public static func replay(_ test: ([UInt8]) -> Void) {
        let arguments = CommandLine.arguments.dropFirst()
        guard !arguments.isEmpty else {
            FileHandle.standardError.write(Data("usage: \(CommandLine.arguments[0]) <input file or directory>...\n".utf8))
            exit(2)
        }
        var count = 0
        for argument in arguments {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else {
                FileHandle.standardError.write(Data("no such file: \(argument)\n".utf8))
                exit(2)
            }
            let paths: [String]
            if isDirectory.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: argument)) ?? []
                paths = names.sorted().map { argument + "/" + $0 }
            } else {
                paths = [argument]
            }
            for path in paths {
                guard let data = FileManager.default.contents(atPath: path) else { continue }
                print("replaying \(path)")
                test(Array(data))
                count += 1
            }
        }
        print("replayed \(count) inputs, no invariant violated")
    }
}
