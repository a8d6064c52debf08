// One exchange record read back from the log, rendered for a terminal: a summary line for `kgb tail`, the
// whole conversation for `kgb show`.
import ExchangeLog
import Glibc

struct ExchangeView {
    let record: JSONTree

    init?(_ line: String) {
        guard let object = JSONTree(parsing: line), object.object != nil else { return nil }
        record = object
    }

    private var usage: JSONTree? { record["usage"]?.object != nil ? record["usage"] : nil }
    private var timing: JSONTree? { record["timing"] }
    private var response: JSONTree? { record["response"] }
    private var request: JSONTree? { record["request"] }

    var id: String { record["id"]?.string ?? "?" }
    private var agent: JSONTree? { record["agent"] }
    var agentName: String? { agent?["name"]?.string }
    var session: String? { agent?["session"]?.string }
    var model: String { usage?["model"]?.string ?? requestBody?["model"]?.string ?? "-" }
    var status: String { response?["status"]?.int.map(String.init) ?? "-" }
    var outcome: String { record["outcome"]?.string ?? "?" }

    private func milliseconds(_ key: String) -> String {
        guard let value = timing?[key]?.double else { return "-" }
        return Self.fixed(value, digits: value < 10 ? 1 : 0) + "ms"
    }

    private func tokens(_ key: String) -> String { usage?[key]?.int.map(String.init) ?? "-" }

    /// printf's `%.Nf` (rounding half to even as C does), without Foundation's String(format:).
    static func fixed(_ value: Double, digits: Int) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        let written = withVaList([value]) { vsnprintf(&buffer, buffer.count, "%.\(digits)f", $0) }
        guard written >= 0 && written < buffer.count else { return String(value) }
        return String(decoding: buffer[..<Int(written)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `$0.009651`: to the nano-dollar the record keeps, without trailing zeros (at least cents). nil: no cost known.
    var cost: String? {
        guard let value = record["cost_usd"]?.double else { return nil }
        var text = Self.fixed(value, digits: 9)
        while text.hasSuffix("0"), text.split(separator: ".").last.map({ $0.count > 2 }) == true { text.removeLast() }
        return "$" + text
    }

    /// `12:34:56.789  claude-sonnet-4  200 complete  in=14 out=20 $0.000342  ttfb=1.9ms total=41.7ms  POST /v1/messages  <id>`
    var summaryLine: String {
        let started = record["started_at"]?.string ?? ""
        let time = started.split(separator: "T").last.map { String($0.prefix(12)) } ?? started
        let method = record["method"]?.string ?? ""
        let path = record["path"]?.string ?? ""
        return [time, model, "\(status) \(outcome)",
                "in=\(tokens("input_tokens")) out=\(tokens("output_tokens"))" + (cost.map { " " + $0 } ?? ""),
                "ttfb=\(milliseconds("ttfb_ms")) total=\(milliseconds("total_ms"))", "\(method) \(path)", id]
            .joined(separator: "  ")
    }

    // MARK: Details

    private var requestBody: JSONTree? {
        guard let text = request?["body"]?.string, let body = JSONTree(parsing: text), body.object != nil else { return nil }
        return body
    }

    var details: String {
        var out = "exchange  \(id)\n"
        out += "started   \(record["started_at"]?.string ?? "-")  from \(record["client"]?.string ?? "-")\n"
        out += "request   \(record["method"]?.string ?? "") \(record["path"]?.string ?? "") → \(record["upstream"]?.string ?? "-")\n"
        out += "outcome   \(outcome), status \(status)"
        if let error = record["error"]?.string { out += ", error: \(error)" }
        out += "\n"
        out += "timing    connect \(milliseconds("upstream_connect_ms")), tls \(milliseconds("upstream_tls_ms")), "
            + "ttfb \(milliseconds("ttfb_ms")), first token \(milliseconds("first_token_ms")), total \(milliseconds("total_ms"))\n"
        if usage != nil {
            out += "usage     model \(model), input \(tokens("input_tokens")), output \(tokens("output_tokens")), "
                + "cache read \(tokens("cache_read_input_tokens")), cache creation \(tokens("cache_creation_input_tokens")), "
                + "stop \(usage?["stop_reason"]?.string ?? "-")\n"
            out += "cost      \(cost ?? "unknown (model not in the price table, or no token counts)")\n"
        }
        out += "\nrequest messages\n"
        let messages = requestMessages
        out += messages.isEmpty ? "  (none found in the request body)\n" : messages.map { "  [\($0.role)] \($0.text)\n" }.joined()
        out += "\nanswer\n"
        if let answer {
            out += answer.split(separator: "\n", omittingEmptySubsequences: false).map { "  \($0)\n" }.joined()
        } else {
            out += "  (no answer text)\n"
        }
        return out
    }

    /// Anthropic's `system` and `messages`, or OpenAI's `messages`, each as role and text.
    private var requestMessages: [(role: String, text: String)] {
        guard let body = requestBody else { return [] }
        var result: [(String, String)] = []
        if let system = body["system"] { result.append(("system", Self.text(of: system))) }
        for message in body["messages"]?.array ?? [] where message.object != nil {
            result.append((message["role"]?.string ?? "?", Self.text(of: message["content"] ?? .string(""))))
        }
        return result
    }

    /// The answer's text: from the SSE analysis, or from a JSON answer (Anthropic content blocks, OpenAI choices).
    private var answer: String? {
        if let text = record["sse"]?["text"]?.string, !text.isEmpty { return text }
        guard let text = response?["body"]?.string, let body = JSONTree(parsing: text), body.object != nil else { return nil }
        if let content = body["content"] { return Self.text(of: content) }
        if let choices = body["choices"]?.array, choices.allSatisfy({ $0.object != nil }),
           let message = choices.first?["message"], message.object != nil {
            return Self.text(of: message["content"] ?? .string(""))
        }
        return nil
    }

    /// A content value as text: a string, or blocks (text, tool use and results, images as a placeholder).
    static func text(of content: JSONTree) -> String {
        if let string = content.string { return string }
        guard let blocks = content.array else { return "" }
        return blocks.compactMap { block -> String? in
            guard block.object != nil else { return nil }
            switch block["type"]?.string {
            case "text": return block["text"]?.string
            case "tool_use":
                return "<tool_use \(block["name"]?.string ?? "?") \((block["input"] ?? .object([:])).text)>"
            case "tool_result": return "<tool_result \(text(of: block["content"] ?? .string("")))>"
            case "image", "image_url": return "<image>"
            default: return block["text"]?.string
            }
        }.joined(separator: "\n")
    }
}
