// Reading a fuzzer's input as decisions (split points, sizes) followed by the data they apply to.

/// Takes values from the front of the input; what is left is the payload.
public struct FuzzInput {
    public private(set) var bytes: ArraySlice<UInt8>

    public init(_ data: UnsafePointer<UInt8>?, _ size: Int) {
        bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))[...]
    }

    /// A byte from the front (0 when the input is used up).
    public mutating func byte() -> UInt8 {
        guard let first = bytes.first else { return 0 }
        bytes = bytes.dropFirst()
        return first
    }

    /// A number below `bound` (at least 1) from two bytes.
    public mutating func below(_ bound: Int) -> Int {
        let value = Int(byte()) << 8 | Int(byte())
        return bound <= 1 ? 0 : value % bound
    }

    public var rest: [UInt8] { Array(bytes) }
}

/// Cuts `bytes` into consecutive pieces at the given offsets (sorted, clamped, duplicates allowed).
public func pieces(_ bytes: [UInt8], cuts: [Int]) -> [[UInt8]] {
    var result: [[UInt8]] = []
    var start = 0
    for cut in cuts.map({ min(max($0, 0), bytes.count) }).sorted() where cut >= start {
        result.append(Array(bytes[start..<cut]))
        start = cut
    }
    result.append(Array(bytes[start...]))
    return result
}

/// Stops the run with a message libFuzzer shows, keeping the input that caused it.
public func violated(_ property: String, _ detail: @autoclosure () -> String = "") -> Never {
    fatalError("property violated: \(property) \(detail())")
}
