// Request methods as llhttp numbers them, with the few the gateway treats specially named.
internal import CLLHTTP
#if canImport(Glibc)
import Glibc
#endif

public struct HTTPMethod: Equatable, Sendable {
    public let raw: UInt8
    public init(raw: UInt8) { self.raw = raw }

    public static let get = HTTPMethod(raw: UInt8(HTTP_GET.rawValue))
    public static let head = HTTPMethod(raw: UInt8(HTTP_HEAD.rawValue))
    public static let post = HTTPMethod(raw: UInt8(HTTP_POST.rawValue))
    public static let connect = HTTPMethod(raw: UInt8(HTTP_CONNECT.rawValue))
    public static let options = HTTPMethod(raw: UInt8(HTTP_OPTIONS.rawValue))
    /// Not parsed (yet): a request that broke off before its method was complete. Its name is empty.
    public static let unknown = HTTPMethod(raw: .max)

    /// The method's name as a static C string from llhttp: no allocation.
    public var name: UnsafeRawBufferPointer {
        guard self != .unknown else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        let cString = llhttp_method_name(llhttp_method_t(UInt32(raw)))!
        return UnsafeRawBufferPointer(start: cString, count: strlen(cString))
    }

    public var description: String { String(decoding: name, as: UTF8.self) }
}
