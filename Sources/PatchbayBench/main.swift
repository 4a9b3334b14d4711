import Foundation

// patchbay-bench: measures the store on this machine. See docs/BENCHMARKS.md.

let options: BenchOptions
do {
    options = try BenchOptions.parse(Array(CommandLine.arguments.dropFirst()))
} catch let error as UsageError {
    if error.isHelp {
        print(error.description)
        exit(0)
    }
    FileHandle.standardError.write(Data("patchbay-bench: \(error.description)\n\n\(BenchOptions.usage)\n".utf8))
    exit(2)
}

do {
    try Bench(options: options).run()
} catch {
    FileHandle.standardError.write(Data("patchbay-bench: \(error)\n".utf8))
    exit(1)
}
