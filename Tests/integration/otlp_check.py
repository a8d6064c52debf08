"""kgb's OTLP trace exports decoded by opentelemetry-proto's generated classes (PyPI opentelemetry-proto), not by
a parser of our own: what a collector would read.

Reusable by any test that has the bytes kgb sent (a fake collector's POST /v1/traces body):
  spans(data)                  -> one flat dict per span (ids in hex, attributes as Python values)
  check_span(span, record, content=False)
                               -> asserts the span is the one the conventions and README make of that kgb record

Run as a script with a directory (scripts/check-otlp.sh): checks the requests the Swift unit test
OTLPTracesTests.fixturesForTheProtobufCheck wrote there, each `<case>.pb` beside the `<case>.jsonl` records it was
made from.
"""
import calendar
import datetime
import hashlib
import json
import pathlib
import re
import sys

from google.protobuf import unknown_fields
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

# The AnyValue member each attribute must use (anything not listed is a string).
INT_ATTRIBUTES = {
    "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_creation.input_tokens", "gen_ai.request.max_tokens", "http.response.status_code",
    "server.port",
}
DOUBLE_ATTRIBUTES = {"kgb.cost_usd", "gen_ai.request.temperature", "gen_ai.request.top_p"}
BOOL_ATTRIBUTES = {"gen_ai.request.stream"}
STRING_ARRAY_ATTRIBUTES = {"gen_ai.response.finish_reasons"}
CONTENT_ATTRIBUTES = {"gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions"}


def any_value(value):
    """An AnyValue as a Python value: str, bool, int, float, bytes, list or dict."""
    member = value.WhichOneof("value")
    if member == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if member == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    return None if member is None else getattr(value, member)


def attributes(key_values):
    """(values, types): each key's Python value and the AnyValue member that held it ('int_value', ...;
    'array_value[string_value]' for an array of strings only)."""
    values, types = {}, {}
    for kv in key_values:
        assert kv.key not in values, f"attribute {kv.key} given twice"
        member = kv.value.WhichOneof("value")
        if member == "array_value":
            inner = {v.WhichOneof("value") for v in kv.value.array_value.values}
            member = f"array_value[{','.join(sorted(m or 'unset' for m in inner))}]"
        values[kv.key] = any_value(kv.value)
        types[kv.key] = member
    return values, types


def unknown_field_paths(message, path="request"):
    """Where the decoder found fields its .proto does not define: a wrong field number or wire type in kgb's
    writer shows up here rather than as a missing value."""
    found = [path] if len(unknown_fields.UnknownFieldSet(message)) else []
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        # protobuf 7 has is_repeated and no label; older releases only label.
        repeated = field.is_repeated if hasattr(field, "is_repeated") else field.label == field.LABEL_REPEATED
        children = value if repeated else [value]
        for index, child in enumerate(children):
            found += unknown_field_paths(child, f"{path}.{field.name}[{index}]")
    return found


def spans(data):
    """Decodes one ExportTraceServiceRequest; one dict per span, in order, with its resource and scope."""
    request = ExportTraceServiceRequest()
    request.ParseFromString(data)
    unknown = unknown_field_paths(request)
    assert not unknown, f"fields unknown to opentelemetry-proto at {unknown}"
    out = []
    for resource_spans in request.resource_spans:
        resource, _ = attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            scope = {"name": scope_spans.scope.name, "version": scope_spans.scope.version}
            for span in scope_spans.spans:
                values, types = attributes(span.attributes)
                out.append({
                    "name": span.name,
                    "kind": Span.SpanKind.Name(span.kind),
                    "trace_id": span.trace_id.hex(),
                    "span_id": span.span_id.hex(),
                    "parent_span_id": span.parent_span_id.hex(),
                    "flags": span.flags,
                    "start": span.start_time_unix_nano,
                    "end": span.end_time_unix_nano,
                    "status_code": Status.StatusCode.Name(span.status.code),
                    "status_message": span.status.message,
                    "attributes": values,
                    "attribute_types": types,
                    "resource": resource,
                    "scope": scope,
                })
    return out


# What a record should become, worked out here from the record itself (README "OpenTelemetry").

def unix_nanos(rfc3339):
    when = datetime.datetime.fromisoformat(rfc3339.replace("Z", "+00:00"))
    return calendar.timegm(when.utctimetuple()) * 1_000_000_000 + when.microsecond * 1000


def expected_ids(record):
    """(trace id, span id, parent span id) in hex: SHA-256 of the record's id, unless the client sent a valid
    traceparent, whose trace the span then joins."""
    digest = hashlib.sha256(record["id"].encode()).hexdigest()
    trace, span, parent = digest[:32], digest[32:48], ""
    header = (record.get("request") or {}).get("headers", {}).get("traceparent", "")
    match = re.fullmatch(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})", header)
    if match and match[1] == "00" and set(match[2]) != {"0"} and set(match[3]) != {"0"}:
        trace, parent = match[2], match[3]
    return trace, span, parent


def expected_provider(record):
    path = record.get("path", "").split("?")[0]
    if path.endswith("/v1/messages"):
        return "anthropic"
    if path.endswith("/chat/completions") or path.endswith("/v1/responses"):
        return "openai"
    return None


def check_span(span, record, content=False):
    """Everything the span must say about `record` (one kgb JSON record as a dict)."""
    label = record["id"]
    attrs, types = span["attributes"], span["attribute_types"]

    trace, span_id, parent = expected_ids(record)
    assert (span["trace_id"], span["span_id"], span["parent_span_id"]) == (trace, span_id, parent), label
    assert span["kind"] == "SPAN_KIND_CLIENT", label
    start = unix_nanos(record["started_at"])
    total_ms = (record.get("timing") or {}).get("total_ms")
    assert span["start"] == start, label
    assert span["end"] == start + (round(total_ms * 1e6) if total_ms is not None else 0), label
    assert span["flags"] & 0xFF == 0x01 and span["flags"] & 0x100, "sampled, and whether the parent is remote is known"
    assert bool(span["flags"] & 0x200) == bool(parent), label

    for key, member in types.items():
        if key in INT_ATTRIBUTES:
            assert member == "int_value", f"{label}: {key} is {member}"
        elif key in DOUBLE_ATTRIBUTES:
            assert member == "double_value", f"{label}: {key} is {member}"
        elif key in BOOL_ATTRIBUTES:
            assert member == "bool_value", f"{label}: {key} is {member}"
        elif key in STRING_ARRAY_ATTRIBUTES:
            assert member == "array_value[string_value]", f"{label}: {key} is {member}"
        else:
            assert member == "string_value", f"{label}: {key} is {member}"

    provider = expected_provider(record)
    request_body = (record.get("request") or {}).get("body")
    request = json.loads(request_body) if isinstance(request_body, str) and request_body.startswith("{") else {}
    model = request.get("model")
    if provider:
        assert attrs["gen_ai.operation.name"] == "chat", label
        assert attrs["gen_ai.provider.name"] == provider, label
        assert span["name"] == (f"chat {model}" if model else "chat"), label
    else:
        assert "gen_ai.operation.name" not in attrs and "gen_ai.provider.name" not in attrs, label
        assert span["name"] == (record.get("method") or "HTTP"), label
    assert attrs.get("gen_ai.request.model") == model, label
    assert attrs.get("gen_ai.request.stream") == (True if request.get("stream") is True else None), label

    response = record.get("response")
    assert attrs.get("http.response.status_code") == (response["status"] if response else None), label
    assert attrs["kgb.exchange.id"] == record["id"]
    assert attrs["kgb.outcome"] == record["outcome"]
    agent = record.get("agent") or {}
    assert attrs.get("kgb.agent.name") == agent.get("name"), label
    assert attrs.get("kgb.session") == agent.get("session"), label
    assert attrs.get("gen_ai.conversation.id") == agent.get("session"), label
    assert attrs.get("kgb.cost_usd") == record.get("cost_usd"), label

    usage = record.get("usage") or {}
    assert attrs.get("gen_ai.response.model") == usage.get("model"), label
    assert attrs.get("gen_ai.usage.output_tokens") == usage.get("output_tokens"), label
    assert attrs.get("gen_ai.usage.cache_read.input_tokens") == usage.get("cache_read_input_tokens"), label
    assert attrs.get("gen_ai.usage.cache_creation.input_tokens") == usage.get("cache_creation_input_tokens"), label
    input_tokens = usage.get("input_tokens")
    if input_tokens is not None and provider == "anthropic":
        # The conventions count cached input in input_tokens; Anthropic reports it apart.
        input_tokens += (usage.get("cache_read_input_tokens") or 0) + (usage.get("cache_creation_input_tokens") or 0)
    assert attrs.get("gen_ai.usage.input_tokens") == input_tokens, label
    stop = usage.get("stop_reason")
    assert attrs.get("gen_ai.response.finish_reasons") == ([stop] if stop else None), label

    failed = record["outcome"] != "complete" or (response is not None and response["status"] >= 400)
    assert span["status_code"] == ("STATUS_CODE_ERROR" if failed else "STATUS_CODE_UNSET"), label
    assert ("error.type" in attrs) == failed, label
    if record["outcome"] != "complete":
        assert attrs["error.type"] == record["outcome"], label
        assert span["status_message"] == (record.get("error") or ""), label

    present = CONTENT_ATTRIBUTES & attrs.keys()
    if not content:
        assert not present, f"{label}: content without --otlp-content: {present}"
    for key in present:
        document = json.loads(attrs[key])
        assert isinstance(document, list), f"{label}: {key}"
        if key == "gen_ai.system_instructions":
            assert all("type" in part for part in document), f"{label}: {key}"
            continue
        for message in document:
            assert isinstance(message.get("role"), str) and isinstance(message.get("parts"), list), f"{label}: {key}"
            assert all(isinstance(part.get("type"), str) for part in message["parts"]), f"{label}: {key}"
            if key == "gen_ai.output.messages":
                assert isinstance(message.get("finish_reason"), str), f"{label}: {key}"


# The fixture cases, each with what it adds to check_span.

def check_anthropic_stream(found, records):
    (span,) = found
    attrs = span["attributes"]
    assert span["name"] == "chat claude-sonnet-4-5"
    assert attrs["gen_ai.response.id"] == "msg_01XFDUDYJgAACzvnptvVoYEL"
    assert attrs["gen_ai.usage.input_tokens"] == 14 + 100 + 6
    assert attrs["gen_ai.response.finish_reasons"] == ["end_turn"]
    assert attrs["server.address"] == "api.anthropic.com" and attrs["server.port"] == 443
    assert attrs["gen_ai.request.max_tokens"] == 1024 and attrs["gen_ai.request.temperature"] == 0.5
    assert span["end"] - span["start"] == 41_700_000
    assert span["start"] == 1_795_610_096_123_456_000


def check_anthropic_stream_content(found, records):
    check_anthropic_stream(found, records)
    attrs = found[0]["attributes"]
    messages = json.loads(attrs["gen_ai.input.messages"])
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[0]["parts"] == [{"type": "text", "content": "Say hi"}]
    assert messages[1]["parts"][1] == {"type": "tool_call", "id": "toolu_1", "name": "greet", "arguments": {"who": "you"}}
    assert messages[2]["parts"] == [{"type": "tool_call_response", "id": "toolu_1", "response": "done"}, {"type": "image"}]
    assert json.loads(attrs["gen_ai.system_instructions"]) == [{"type": "text", "content": "Be brief."}]
    assert json.loads(attrs["gen_ai.output.messages"]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "Hi there!"}], "finish_reason": "end_turn"}]


def check_openai_json_content(found, records):
    (span,) = found
    attrs = span["attributes"]
    assert span["name"] == "chat gpt-4.1"
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.response.id"] == "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"
    assert attrs["gen_ai.usage.input_tokens"] == 2006, "prompt_tokens already includes the cached ones"
    assert "gen_ai.usage.cache_creation.input_tokens" not in attrs
    assert attrs["server.address"] == "api.openai.com" and attrs["server.port"] == 443
    assert attrs["gen_ai.request.max_tokens"] == 200 and attrs["gen_ai.request.top_p"] == 1.0
    assert span["end"] - span["start"] == 801_000_001
    messages = json.loads(attrs["gen_ai.input.messages"])
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool"]
    assert messages[2]["parts"] == [{"type": "tool_call", "id": "call_1", "name": "get_weather",
                                     "arguments": {"location": "Paris"}}]
    assert json.loads(attrs["gen_ai.output.messages"]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "Rainy, 14 C."}], "finish_reason": "stop"}]
    assert "gen_ai.system_instructions" not in attrs


def check_failures(found, records):
    timed_out, overloaded, rejected, models = found
    assert timed_out["status_code"] == "STATUS_CODE_ERROR"
    assert timed_out["attributes"]["error.type"] == "upstream_timeout"
    assert timed_out["status_message"] == "no response head within 600 s"
    assert timed_out["end"] == timed_out["start"], "no total: a zero-length span"
    assert timed_out["attributes"]["server.address"] == "::1" and timed_out["attributes"]["server.port"] == 9100
    assert overloaded["attributes"]["error.type"] == "overloaded_error"
    assert overloaded["status_message"] == "Overloaded"
    assert overloaded["attributes"]["http.response.status_code"] == 529
    assert rejected["attributes"]["error.type"] == "rejected"
    assert "server.address" not in rejected["attributes"]
    assert models["name"] == "GET" and models["status_code"] == "STATUS_CODE_UNSET"


def check_traceparent(found, records):
    (span,) = found
    assert span["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert span["parent_span_id"] == "00f067aa0ba902b7"
    assert span["flags"] == 0x301


CASES = {
    "anthropic-stream": (False, check_anthropic_stream),
    "anthropic-stream-content": (True, check_anthropic_stream_content),
    "openai-json-content": (True, check_openai_json_content),
    "failures": (False, check_failures),
    "traceparent": (False, check_traceparent),
}


def main(directory):
    directory = pathlib.Path(directory)
    for name, (content, check) in CASES.items():
        data = (directory / f"{name}.pb").read_bytes()
        records = [json.loads(line) for line in (directory / f"{name}.jsonl").read_text().splitlines() if line]
        found = spans(data)
        assert len(found) == len(records), f"{name}: {len(found)} spans for {len(records)} records"
        for span in found:
            assert span["resource"]["service.name"] == "kgb", name
            assert span["resource"]["service.instance.id"] == "fixture-host", name
            assert span["resource"]["service.version"] == "0.0.0-test", name
            assert span["scope"] == {"name": "kgb", "version": "0.0.0-test"}, name
        for span, record in zip(found, records):
            check_span(span, record, content=content)
        check(found, records)
        print(f"otlp: {name}: {len(found)} span(s) decoded by opentelemetry-proto and checked")


if __name__ == "__main__":
    main(sys.argv[1])
