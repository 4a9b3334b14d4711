// The entry point every fuzz target shares.
//
// SwiftPM links an executable target with `--defsym main=<Target>_main`, so each target defines that
// symbol (with `@_cdecl`) and calls `runFuzzer` here. It hands over to libFuzzer's driver
// (`LLVMFuzzerRunDriver`, in the runtime `-sanitize=fuzzer` links), which parses the usual libFuzzer
// flags and calls the target's `LLVMFuzzerTestOneInput` (also `@_cdecl`, resolved at link time).

@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// The target's own `@_cdecl("LLVMFuzzerTestOneInput")` function.
@_silgen_name("LLVMFuzzerTestOneInput")
private func LLVMFuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt

public func runFuzzer(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        // libFuzzer passes no pointer for an empty input; the targets take a real one.
        guard let data else {
            var empty: UInt8 = 0
            return LLVMFuzzerTestOneInput(&empty, 0)
        }
        return LLVMFuzzerTestOneInput(data, size)
    }
}
