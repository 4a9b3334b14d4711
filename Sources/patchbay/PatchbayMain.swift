import PatchbayCLI

/// The executable only parses and runs; everything else is in PatchbayCLI.
@main
enum PatchbayMain {
    static func main() async {
        await Patchbay.main(nil)
    }
}
