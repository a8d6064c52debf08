// Reads kgb_exchanges back for `kgb tail` and `kgb show`: the newest records by start time, then each row as it
// arrives. Arrival order is `seq`, not started_at (a long stream is stored when it ends, the spool delivers late
// after an outage), and even seq is not commit order: two instances' transactions draw seq values and commit in
// either order. So a poll looks again at the recent seq values it already knows, until they are old enough that
// any transaction that drew a lower value has committed or given up.

final class PostgresStoreReader {
    private let url: String
    private var connection: PostgresConnection
    /// Every row with seq at or below this has been seen (returned or passed over).
    private var floor: Int64 = 0
    /// Rows above the floor already seen.
    private var seen: Set<Int64> = []
    /// The highest seq seen at each poll, to raise the floor to once `settle` has passed.
    private var marks: [(at: ContinuousClock.Instant, seq: Int64)] = []
    /// Longer than any batch's transaction takes to commit.
    static let settle: Duration = .seconds(10)
    /// How far below the highest seq a reader starting up still looks for rows being committed.
    static let startWindow: Int64 = 10_000

    init(url: String) throws(SinkError) {
        self.url = url
        do {
            connection = try PostgresConnection(url: url)
            let table = try connection.execute("SELECT to_regclass('kgb_exchanges') IS NOT NULL")
            guard table.first?.first == "t" else {
                throw PostgresFailure(sqlState: nil, message: "there is no kgb_exchanges table (no kgb has stored records there yet)")
            }
        } catch {
            throw SinkError("\(LogSpec.withoutPassword(url)): \(error)")
        }
    }

    /// The last `count` records by start time (oldest first), with only this agent's or session's when given; the
    /// reader then follows the rows that arrive after them.
    func newest(_ count: Int, agent: String?, session: String?) throws(SinkError) -> [String] {
        do throws(PostgresFailure) {
            // One snapshot for the newest rows and the seq values already there, so a row committed in between is
            // neither lost nor shown twice.
            try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            defer { _ = try? connection.execute("COMMIT") }
            let rows = try connection.execute("""
                SELECT record::text FROM kgb_exchanges
                WHERE ($2::text IS NULL OR agent = $2) AND ($3::text IS NULL OR record->'agent'->>'session' = $3)
                ORDER BY started_at DESC, id DESC LIMIT $1
                """, [Array(String(max(count, 0)).utf8), agent.map { Array($0.utf8) }, session.map { Array($0.utf8) }])
            let top = try connection.execute("SELECT coalesce(max(seq), 0) FROM kgb_exchanges").first?.first ?? nil
            let highest = top.flatMap { Int64($0) } ?? 0
            floor = max(0, highest - Self.startWindow)
            seen = Set(try seqs(above: floor))
            marks = [(ContinuousClock.now, highest)]
            return rows.reversed().compactMap { $0.first ?? nil }
        } catch {
            throw SinkError("reading kgb_exchanges failed: \(error)")
        }
    }

    /// Rows that arrived since the last call, in arrival order (possibly none; none either while the server is
    /// unreachable: the next call after it is back catches up).
    func next() -> [String] {
        if !connection.isUsable {
            guard let fresh = try? PostgresConnection(url: url) else { return [] }
            connection = fresh
        }
        guard let known = try? seqs(above: floor) else { return [] }
        let fresh = known.filter { !seen.contains($0) }
        var records: [String] = []
        if !fresh.isEmpty {
            let list = Array(("{" + fresh.map(String.init).joined(separator: ",") + "}").utf8)
            guard let rows = try? connection.execute(
                "SELECT record::text FROM kgb_exchanges WHERE seq = ANY($1::bigint[]) ORDER BY seq", [list]) else { return [] }
            records = rows.compactMap { $0.first ?? nil }
            seen.formUnion(fresh)
        }
        let now = ContinuousClock.now
        marks.append((now, known.last ?? floor))
        while let first = marks.first, now - first.at >= Self.settle {
            floor = max(floor, first.seq)
            marks.removeFirst()
        }
        seen = seen.filter { $0 > floor }
        return records
    }

    /// The record with this id, if stored.
    func find(id: String) -> [String] {
        let rows = try? connection.execute("SELECT record::text FROM kgb_exchanges WHERE id = $1", [Array(id.utf8)])
        return rows?.compactMap { $0.first ?? nil } ?? []
    }

    private func seqs(above floor: Int64) throws(PostgresFailure) -> [Int64] {
        try connection.execute("SELECT seq FROM kgb_exchanges WHERE seq > $1 ORDER BY seq", [Array(String(floor).utf8)])
            .compactMap { ($0.first ?? nil).flatMap { Int64($0) } }
    }
}
