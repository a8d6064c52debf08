// Errors from libuv calls, carrying the call's name and the libuv error code (a negated errno).
internal import CLibUV

public struct UVError: Error, CustomStringConvertible, Equatable, Sendable {
    public let code: Int32
    public let call: StaticString

    public init(_ code: Int32, _ call: StaticString) {
        self.code = code
        self.call = call
    }

    /// The libuv error name, e.g. `ECONNREFUSED`.
    public var name: String { String(cString: uv_err_name(code)) }
    /// The human text, e.g. `connection refused`.
    public var message: String { String(cString: uv_strerror(code)) }
    public var description: String { "\(call): \(message) (\(name))" }

    public var isEOF: Bool { code == UV_EOF.rawValue }
    public var isCancelled: Bool { code == UV_ECANCELED.rawValue }

    public static func == (a: UVError, b: UVError) -> Bool { a.code == b.code }
}

/// Turns a libuv status into a thrown error naming the call.
@inline(__always)
func check(_ status: Int32, _ call: StaticString) throws(UVError) {
    if status < 0 { throw UVError(status, call) }
}
