// The few file operations the sinks, the spool and the command line need, over libc: Foundation's FileManager
// would link Foundation (and ICU) into the sidecar for a handful of calls.
import Glibc

public enum FileSystem {
    /// The whole file, or nil when it cannot be opened or read.
    public static func read(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        let expected = fstat(fd, &info) == 0 && info.st_size > 0 ? Int(info.st_size) : 0
        var out: [UInt8] = []
        var chunk = max(expected + 1, 4096)
        while true {
            let start = out.count
            out.append(contentsOf: repeatElement(0, count: chunk))
            let n = out.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + start, chunk) }
            if n < 0 {
                if errno == EINTR { out.removeLast(chunk); continue }
                return nil
            }
            out.removeLast(chunk - n)
            if n == 0 { return out }
            chunk = 64 << 10
        }
    }

    /// Writes `bytes` to a new file (replacing one that is there); false on any failure.
    @discardableResult
    public static func write(_ bytes: [UInt8], to path: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return false }
                offset += n
            }
            return true
        }
    }

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// `mkdir -p`: every missing directory on the way; throws what went wrong, as strerror says it.
    public static func createDirectories(_ path: String) throws(SinkError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw SinkError(String(cString: strerror(errno)))
            }
            var info = stat()
            guard stat(prefix, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
                throw SinkError("\(prefix) is not a directory")
            }
            prefix += "/"
        }
    }

    /// Names in a directory (not `.` and `..`), in no particular order; nil when it cannot be read.
    public static func names(in directory: String) -> [String]? {
        guard let stream = opendir(directory) else { return nil }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// The directory part of a path, as `dirname` without the trailing slash: "" for a bare name.
    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    /// An absolute path without `.` and `..` components, relative paths taken from the current directory.
    public static func absolute(_ path: String) -> String {
        var base = ""
        if !path.hasPrefix("/") {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            if getcwd(&buffer, buffer.count) != nil {
                base = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
        }
        var parts: [Substring] = []
        for component in (base + "/" + path).split(separator: "/") {
            switch component {
            case ".": continue
            case "..": if !parts.isEmpty { parts.removeLast() }
            default: parts.append(component)
            }
        }
        return "/" + parts.joined(separator: "/")
    }
}

/// Standard error and output, written with write(2): one call per message, so lines from several threads never
/// interleave, and nothing waits in a stdio buffer.
public enum StandardStream {
    public static func error(_ text: String) { write(STDERR_FILENO, text) }
    public static func output(_ text: String) { write(STDOUT_FILENO, text) }

    private static func write(_ fd: Int32, _ text: String) {
        var text = text
        text.withUTF8 { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return }
                offset += n
            }
        }
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs (Foundation's `.whitespaces`, for the ASCII text kgb trims).
    public var trimmingSpaces: String { trimmed { $0 == 0x20 || $0 == 0x09 } }

    /// Without leading and trailing spaces, tabs, line breaks (`.whitespacesAndNewlines`, ASCII).
    public var trimmingWhitespace: String { trimmed { $0 == 0x20 || ($0 >= 0x09 && $0 <= 0x0D) } }

    private func trimmed(_ isSpace: (UInt8) -> Bool) -> String {
        let bytes = Array(utf8)
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }
}
