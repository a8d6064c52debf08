// What the PostgreSQL sink needs to know of a record itself (its columns are computed by PostgreSQL, see
// PostgresSchema.insertColumns): whether it can be a row at all (a JSON object with a string id), that id for
// messages, and the NUL escapes jsonb cannot hold.
internal import CPostgres
import Glibc

enum PostgresRow {
    /// The record's id, when it is a JSON object whose `id` is a string; nil otherwise (no row can hold it: the id is
    /// the key). kgb's own records start with it, which is checked first.
    static func id(of record: [UInt8]) -> String? {
        record.withUnsafeBytes { data -> String? in
            guard let members = TopLevelScanner.members(data),
                  let value = members.last(where: { TopLevelScanner.isKey($0.key, "id") })?.value else { return nil }
            return TopLevelScanner.string(data, value)
        }
    }

    /// Whether a record looks like kgb's own (`{"id":"...`), so the delivery thread need not scan it.
    static func startsWithStringID(_ record: [UInt8]) -> Bool {
        let prefix: StaticString = "{\"id\":\""
        return record.count > prefix.utf8CodeUnitCount
            && record.withUnsafeBytes { memcmp($0.baseAddress!, prefix.utf8Start, prefix.utf8CodeUnitCount) == 0 }
    }

    /// PostgreSQL's text and jsonb cannot hold the NUL character, and a body with NUL bytes is valid UTF-8, which
    /// the record keeps as text with `\u0000` escapes. Each such escape becomes `\ufffd` (the replacement
    /// character) so the record is stored rather than refused; every other byte is kept.
    static func storable(_ record: [UInt8]) -> [UInt8] {
        // Only a batch PostgreSQL refused comes here. It is an escape only after an even run of backslashes:
        // `\\u0000` is a backslash, then text.
        var found: [Int] = []
        record.withUnsafeBytes { bytes in
            guard let base = bytes.baseAddress else { return }
            let needle: StaticString = "\\u0000"
            var from = 0
            while from < bytes.count, let hit = kgb_memmem(base + from, bytes.count - from, needle.utf8Start, 6) {
                let at = base.distance(to: hit)
                var before = 0
                while at - before - 1 >= 0 && bytes[at - before - 1] == UInt8(ascii: "\\") { before += 1 }
                if before % 2 == 0 { found.append(at) }
                from = at + 1
            }
        }
        guard !found.isEmpty else { return record }
        var result = record
        for at in found { result.replaceSubrange((at + 2)..<(at + 6), with: Array("fffd".utf8)) }
        return result
    }
}
