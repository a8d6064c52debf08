// One exchange record read back from the log, rendered for a terminal: a summary line for `kgb tail`, the
// whole conversation for `kgb show`.
import Foundation

struct ExchangeView {
    let record: [String: Any]

    init?(_ line: String) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
        record = object
    }

    private var usage: [String: Any]? { record["usage"] as? [String: Any] }
    private var timing: [String: Any] { record["timing"] as? [String: Any] ?? [:] }
    private var response: [String: Any]? { record["response"] as? [String: Any] }
    private var request: [String: Any]? { record["request"] as? [String: Any] }

    var id: String { record["id"] as? String ?? "?" }
    private var agent: [String: Any]? { record["agent"] as? [String: Any] }
    var agentName: String? { agent?["name"] as? String }
    var session: String? { agent?["session"] as? String }
    var model: String { usage?["model"] as? String ?? requestBody?["model"] as? String ?? "-" }
    var status: String { (response?["status"] as? Int).map(String.init) ?? "-" }
    var outcome: String { record["outcome"] as? String ?? "?" }

    private func milliseconds(_ key: String) -> String {
        guard let value = timing[key] as? Double else { return "-" }
        return value < 10 ? String(format: "%.1fms", value) : String(format: "%.0fms", value)
    }

    private func tokens(_ key: String) -> String { (usage?[key] as? Int).map(String.init) ?? "-" }

    /// `$0.009651`: to the nano-dollar the record keeps, without trailing zeros (at least cents). nil: no cost known.
    var cost: String? {
        guard let value = record["cost_usd"] as? Double else { return nil }
        var text = String(format: "%.9f", value)
        while text.hasSuffix("0"), text.split(separator: ".").last.map({ $0.count > 2 }) == true { text.removeLast() }
        return "$" + text
    }

    /// `12:34:56.789  claude-sonnet-4  200 complete  in=14 out=20 $0.000342  ttfb=1.9ms total=41.7ms  POST /v1/messages  <id>`
    var summaryLine: String {
        let started = record["started_at"] as? String ?? ""
        let time = started.split(separator: "T").last.map { String($0.prefix(12)) } ?? started
        let method = record["method"] as? String ?? ""
        let path = record["path"] as? String ?? ""
        return [time, model, "\(status) \(outcome)",
                "in=\(tokens("input_tokens")) out=\(tokens("output_tokens"))" + (cost.map { " " + $0 } ?? ""),
                "ttfb=\(milliseconds("ttfb_ms")) total=\(milliseconds("total_ms"))", "\(method) \(path)", id]
            .joined(separator: "  ")
    }

    // MARK: Details

    private var requestBody: [String: Any]? {
        guard let text = request?["body"] as? String else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
    }

    var details: String {
        var out = "exchange  \(id)\n"
        out += "started   \(record["started_at"] as? String ?? "-")  from \(record["client"] as? String ?? "-")\n"
        out += "request   \(record["method"] as? String ?? "") \(record["path"] as? String ?? "") → \(record["upstream"] as? String ?? "-")\n"
        out += "outcome   \(outcome), status \(status)"
        if let error = record["error"] as? String { out += ", error: \(error)" }
        out += "\n"
        out += "timing    connect \(milliseconds("upstream_connect_ms")), tls \(milliseconds("upstream_tls_ms")), "
            + "ttfb \(milliseconds("ttfb_ms")), first token \(milliseconds("first_token_ms")), total \(milliseconds("total_ms"))\n"
        if usage != nil {
            out += "usage     model \(model), input \(tokens("input_tokens")), output \(tokens("output_tokens")), "
                + "cache read \(tokens("cache_read_input_tokens")), cache creation \(tokens("cache_creation_input_tokens")), "
                + "stop \(usage?["stop_reason"] as? String ?? "-")\n"
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
        for case let message as [String: Any] in body["messages"] as? [Any] ?? [] {
            result.append((message["role"] as? String ?? "?", Self.text(of: message["content"] ?? "")))
        }
        return result
    }

    /// The answer's text: from the SSE analysis, or from a JSON answer (Anthropic content blocks, OpenAI choices).
    private var answer: String? {
        if let sse = record["sse"] as? [String: Any], let text = sse["text"] as? String, !text.isEmpty { return text }
        guard let text = response?["body"] as? String,
              let body = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else { return nil }
        if let content = body["content"] { return Self.text(of: content) }
        if let choices = body["choices"] as? [[String: Any]], let message = choices.first?["message"] as? [String: Any] {
            return Self.text(of: message["content"] ?? "")
        }
        return nil
    }

    /// A content value as text: a string, or blocks (text, tool use and results, images as a placeholder).
    static func text(of content: Any) -> String {
        if let string = content as? String { return string }
        guard let blocks = content as? [Any] else { return "" }
        return blocks.compactMap { item -> String? in
            guard let block = item as? [String: Any] else { return nil }
            switch block["type"] as? String {
            case "text": return block["text"] as? String
            case "tool_use":
                let input = (try? JSONSerialization.data(withJSONObject: block["input"] ?? [:], options: [.sortedKeys]))
                    .map { String(decoding: $0, as: UTF8.self) } ?? "{}"
                return "<tool_use \(block["name"] as? String ?? "?") \(input)>"
            case "tool_result": return "<tool_result \(text(of: block["content"] ?? ""))>"
            case "image", "image_url": return "<image>"
            default: return block["text"] as? String
            }
        }.joined(separator: "\n")
    }
}
