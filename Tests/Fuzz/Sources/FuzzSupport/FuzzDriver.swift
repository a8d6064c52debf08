// Each fuzz target is an ordinary executable whose main hands its test function to libFuzzer's driver
// (SwiftPM gives executables a main of their own, so libFuzzer's main() cannot be the entry point).

public typealias FuzzTest = @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32

@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                                 _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                                 _ test: FuzzTest) -> Int32

/// Runs libFuzzer with the process's arguments (corpus folders, -max_total_time=..., or files to replay).
public func runFuzzer(_ test: FuzzTest) -> Never {
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, test))
}

@_silgen_name("exit")
private func exit(_ status: Int32) -> Never
