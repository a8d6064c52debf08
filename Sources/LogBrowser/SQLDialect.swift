// Where SQLite and PostgreSQL differ for the pages' queries. Both stores have the same columns (the SQLite schema's
// version 2, PostgreSQL's migration 2), so only these spellings change.

enum SQLDialect {
    case sqlite, postgres

    var table: String {
        switch self {
        case .sqlite: "exchanges"
        case .postgres: "kgb_exchanges"
        }
    }

    /// The placeholder of parameter `number` (1-based), cast where PostgreSQL needs to know the type.
    func parameter(_ number: Int, as type: ParameterType = .text) -> String {
        switch self {
        case .sqlite: return "?\(number)"
        case .postgres:
            switch type {
            case .text: return "$\(number)"
            case .time: return "$\(number)::timestamptz"
            case .integer: return "$\(number)::integer"
            }
        }
    }

    enum ParameterType { case text, time, integer }

    /// started_at as the record spells it (2026-11-25T12:34:56.123456Z); SQLite stores that text.
    var startedAt: String {
        switch self {
        case .sqlite: "started_at"
        case .postgres: #"to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"#
        }
    }

    /// The record's JSON text.
    var record: String {
        switch self {
        case .sqlite: "record"
        case .postgres: "record::text"
        }
    }

    /// A top-level string member of the record.
    func member(_ name: String) -> String {
        switch self {
        case .sqlite: "json_extract(record, '$.\(name)')"
        case .postgres: "record->>'\(name)'"
        }
    }

    /// True when the record's text holds `needle` (already JSON-escaped), ignoring ASCII case.
    func recordContains(_ needle: String) -> String {
        switch self {
        case .sqlite: "kgb_contains(record, \(needle))"
        case .postgres: "strpos(lower(record::text), lower(\(needle))) > 0"
        }
    }

    /// started_at cut to the bucket: 2026-11-25T12:34, 2026-11-25T12 or 2026-11-25.
    func bucket(_ size: BucketSize) -> String {
        switch (self, size) {
        case (.sqlite, .minute): "substr(started_at, 1, 16)"
        case (.sqlite, .hour): "substr(started_at, 1, 13)"
        case (.sqlite, .day): "substr(started_at, 1, 10)"
        case (.postgres, .minute): #"to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI')"#
        case (.postgres, .hour): #"to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24')"#
        case (.postgres, .day): "to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        }
    }

    func percentile(_ column: String, _ fraction: Double) -> String {
        switch self {
        case .sqlite: "kgb_percentile(\(column), \(fraction))"
        case .postgres: "percentile_cont(\(fraction)) WITHIN GROUP (ORDER BY \(column))"
        }
    }

    /// For the overview's sums: the started_at index carries every column they read, so SQLite is told to use it
    /// (left alone, it may walk the agent index and read each record); PostgreSQL's planner has statistics.
    var coveringIndex: String {
        switch self {
        case .sqlite: "INDEXED BY exchanges_started_at"
        case .postgres: ""
        }
    }

    /// A value that grows whenever a row arrives: the live feed compares it between polls.
    var arrivalMark: String {
        switch self {
        case .sqlite: "SELECT coalesce(max(rowid), 0) FROM exchanges"
        case .postgres: "SELECT coalesce(max(seq), 0) FROM kgb_exchanges"
        }
    }
}

enum BucketSize: String {
    case minute, hour, day

    /// About 30 to 120 bars whatever the range.
    init(spanSeconds: Double) {
        self = spanSeconds <= 2 * 3600 ? .minute : spanSeconds <= 4 * 86400 ? .hour : .day
    }
}
