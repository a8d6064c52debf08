// The body of an OTLP/HTTP traces export (`POST /v1/traces`, Content-Type application/x-protobuf): an
// ExportTraceServiceRequest holding one span per exchange record. Field numbers are those of
// opentelemetry-proto's collector/trace/v1/trace_service.proto, trace/v1/trace.proto, common/v1/common.proto
// and resource/v1/resource.proto.

public enum OTLPTraces {
    /// One batch of records (each one kgb JSON record, as the spool hands them to a RemoteSink) as one request:
    /// one ResourceSpans for this kgb instance, one ScopeSpans named "kgb", one span per record. A record that
    /// is not a kgb record (no id, no start time) is left out; with none left the result is empty, which is
    /// itself a valid, empty request, but there is nothing worth sending.
    /// `includeContent` (`--otlp-content`) adds the opt-in message content attributes; without it no prompt or
    /// answer text leaves kgb this way.
    public static func exportRequest(records: [[UInt8]], includeContent: Bool, serviceName: String, instance: String,
                                     serviceVersion: String? = nil) -> [UInt8] {
        let spans = records.compactMap { ExchangeSpan(record: $0, includeContent: includeContent) }
        guard !spans.isEmpty else { return [] }
        var out = ProtobufWriter(capacity: 512 * spans.count)
        out.message(Field.requestResourceSpans) { resourceSpans in
            resourceSpans.message(Field.resourceSpansResource) { resource in
                attribute("service.name", .string(serviceName), into: &resource, field: Field.resourceAttributes)
                attribute("service.instance.id", .string(instance), into: &resource, field: Field.resourceAttributes)
                if let serviceVersion {
                    attribute("service.version", .string(serviceVersion), into: &resource, field: Field.resourceAttributes)
                }
            }
            resourceSpans.message(Field.resourceSpansScopeSpans) { scopeSpans in
                scopeSpans.message(Field.scopeSpansScope) { scope in
                    scope.string(Field.scopeName, "kgb")
                    if let serviceVersion { scope.string(Field.scopeVersion, serviceVersion) }
                }
                for span in spans {
                    scopeSpans.message(Field.scopeSpansSpans) { write(span, into: &$0) }
                }
            }
        }
        return out.bytes
    }

    private static func write(_ span: ExchangeSpan, into out: inout ProtobufWriter) {
        out.bytes(Field.spanTraceID, span.traceID)
        out.bytes(Field.spanSpanID, span.spanID)
        if let parent = span.parentSpanID { out.bytes(Field.spanParentSpanID, parent) }
        out.string(Field.spanName, span.name)
        out.uint64(Field.spanKind, spanKindClient)
        out.fixed64(Field.spanStartTime, span.startNanos)
        out.fixed64(Field.spanEndTime, span.endNanos)
        for (key, value) in span.attributes {
            attribute(key, value, into: &out, field: Field.spanAttributes)
        }
        if span.failed {
            out.message(Field.spanStatus) { status in
                if let message = span.statusMessage { status.string(Field.statusMessage, message) }
                status.uint64(Field.statusCode, statusCodeError)
            }
        }
        // Trace flags "sampled" (the span was recorded and is being sent), and whether the parent is remote:
        // known (bit 8), and true (bit 9) exactly when the parent is the client's span from its traceparent.
        out.fixed32(Field.spanFlags, 0x01 | 0x100 | (span.parentSpanID == nil ? 0 : 0x200))
    }

    /// A KeyValue: the key, and the value as the AnyValue oneof member of its type. A oneof member is written
    /// even when it holds its type's default (0, false, ""), so a reader sees which member is set.
    private static func attribute(_ key: String, _ value: ExchangeSpan.Value, into out: inout ProtobufWriter, field: UInt32) {
        out.message(field) { keyValue in
            keyValue.string(Field.keyValueKey, key)
            keyValue.message(Field.keyValueValue) { write(value, into: &$0) }
        }
    }

    private static func write(_ value: ExchangeSpan.Value, into out: inout ProtobufWriter) {
        switch value {
        case .string(let text): out.string(Field.anyString, text)
        case .bool(let flag): out.bool(Field.anyBool, flag)
        case .int(let number): out.int64(Field.anyInt, Int64(number))
        case .double(let number): out.double(Field.anyDouble, number)
        case .strings(let texts):
            out.message(Field.anyArray) { array in
                for text in texts {
                    array.message(Field.arrayValues) { $0.string(Field.anyString, text) }
                }
            }
        }
    }

    /// Span.SpanKind.SPAN_KIND_CLIENT: kgb calls the model's API on the agent's behalf.
    static let spanKindClient: UInt64 = 3
    /// Status.StatusCode.STATUS_CODE_ERROR. A span that did not fail leaves its status unset, as the conventions'
    /// "Recording errors" asks (not OK: that is for an application overriding an instrumentation's verdict).
    static let statusCodeError: UInt64 = 2

    enum Field {
        // collector.trace.v1.ExportTraceServiceRequest
        static let requestResourceSpans: UInt32 = 1
        // trace.v1.ResourceSpans
        static let resourceSpansResource: UInt32 = 1
        static let resourceSpansScopeSpans: UInt32 = 2
        // resource.v1.Resource
        static let resourceAttributes: UInt32 = 1
        // trace.v1.ScopeSpans
        static let scopeSpansScope: UInt32 = 1
        static let scopeSpansSpans: UInt32 = 2
        // common.v1.InstrumentationScope
        static let scopeName: UInt32 = 1
        static let scopeVersion: UInt32 = 2
        // trace.v1.Span
        static let spanTraceID: UInt32 = 1
        static let spanSpanID: UInt32 = 2
        static let spanParentSpanID: UInt32 = 4
        static let spanName: UInt32 = 5
        static let spanKind: UInt32 = 6
        static let spanStartTime: UInt32 = 7
        static let spanEndTime: UInt32 = 8
        static let spanAttributes: UInt32 = 9
        static let spanStatus: UInt32 = 15
        static let spanFlags: UInt32 = 16
        // trace.v1.Status
        static let statusMessage: UInt32 = 2
        static let statusCode: UInt32 = 3
        // common.v1.KeyValue
        static let keyValueKey: UInt32 = 1
        static let keyValueValue: UInt32 = 2
        // common.v1.AnyValue
        static let anyString: UInt32 = 1
        static let anyBool: UInt32 = 2
        static let anyInt: UInt32 = 3
        static let anyDouble: UInt32 = 4
        static let anyArray: UInt32 = 5
        // common.v1.ArrayValue
        static let arrayValues: UInt32 = 1
    }
}
