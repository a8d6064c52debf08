// Message content for the opt-in span attributes gen_ai.input.messages, gen_ai.output.messages and
// gen_ai.system_instructions (`--otlp-content`): each API's messages mapped onto the conventions' JSON schemas
// (role and parts: text, tool_call, tool_call_response, reasoning), written as JSON strings.
import Foundation

enum GenAIMessages {
    /// The request's chat history and, where the API takes them apart from it (Anthropic's `system`, the
    /// Responses API's `instructions`), the system instructions. Nil when the body is not a JSON object.
    static func input(requestBody: String, api: ExchangeSpan.API?) -> (messages: String?, system: String?)? {
        guard let request = APIShapes.object(Array(requestBody.utf8)) else { return nil }
        var messages: [[String: Any]] = []
        if let history = request["messages"] as? [Any] {
            for case let message as [String: Any] in history { messages.append(chatMessage(message)) }
        } else if api == .openAIResponses || request["input"] != nil {
            messages = responsesInput(request["input"])
        }
        var system: [[String: Any]] = []
        switch request["system"] ?? request["instructions"] {
        case let instructions as String:
            system = [text(instructions)]
        case let blocks as [Any]:
            for case let block as [String: Any] in blocks { system += part(block) }
        default:
            break
        }
        return (messages.isEmpty ? nil : json(messages), system.isEmpty ? nil : json(system))
    }

    /// The answer as output messages, one per choice: from a whole JSON answer, or for a stream from the text
    /// kgb followed (`sse.text`, one text part: the record keeps no stream's blocks apart, so tool-input JSON it
    /// accumulated is in that text too). Nil when there is neither.
    static func output(responseBody: String?, streamText: String?, finishReason: String) -> String? {
        if let streamText {
            let parts = streamText.isEmpty ? [] : [text(streamText)]
            return json([["role": "assistant", "parts": parts, "finish_reason": finishReason]])
        }
        guard let body = responseBody, let answer = APIShapes.object(Array(body.utf8)) else { return nil }
        if let choices = answer["choices"] as? [Any] {
            // OpenAI chat: each choice is a message of its own.
            var messages: [[String: Any]] = []
            for case let choice as [String: Any] in choices {
                let message = choice["message"] as? [String: Any] ?? [:]
                var out = chatMessage(message)
                out["role"] = APIShapes.string(message["role"]) ?? "assistant"
                out["finish_reason"] = APIShapes.string(choice["finish_reason"]) ?? finishReason
                messages.append(out)
            }
            return messages.isEmpty ? nil : json(messages)
        }
        if let content = answer["content"] as? [Any] {
            // An Anthropic message.
            var parts: [[String: Any]] = []
            for case let block as [String: Any] in content { parts += part(block) }
            return json([["role": "assistant", "parts": parts, "finish_reason": finishReason]])
        }
        if let output = answer["output"] as? [Any] {
            // A Responses API response: its output items are one answer.
            let items = responsesInput(output)
            let parts = items.flatMap { $0["parts"] as? [[String: Any]] ?? [] }
            return json([["role": "assistant", "parts": parts, "finish_reason": finishReason]])
        }
        return nil
    }

    // MARK: Messages

    /// An Anthropic or OpenAI chat message: content as a string or a list of blocks, plus OpenAI's tool_calls
    /// and its `tool` role, whose content is a tool's answer.
    private static func chatMessage(_ message: [String: Any]) -> [String: Any] {
        let role = APIShapes.string(message["role"]) ?? "user"
        var parts: [[String: Any]] = []
        if role == "tool" {
            parts.append(["type": "tool_call_response", "id": message["tool_call_id"] ?? NSNull(),
                          "response": message["content"] ?? NSNull()])
        } else {
            switch message["content"] {
            case let text as String: parts.append(self.text(text))
            case let blocks as [Any]: for case let block as [String: Any] in blocks { parts += part(block) }
            default: break
            }
        }
        for case let call as [String: Any] in message["tool_calls"] as? [Any] ?? [] {
            let function = call["function"] as? [String: Any] ?? [:]
            parts.append(toolCall(id: call["id"], name: function["name"], arguments: function["arguments"]))
        }
        return ["role": role, "parts": parts]
    }

    /// The Responses API's `input` (or a response's `output`): a string, or items that are messages, function
    /// calls and their outputs.
    private static func responsesInput(_ input: Any?) -> [[String: Any]] {
        if let text = input as? String { return [["role": "user", "parts": [self.text(text)]]] }
        var messages: [[String: Any]] = []
        for case let item as [String: Any] in input as? [Any] ?? [] {
            switch item["type"] as? String {
            case "function_call":
                messages.append(["role": "assistant",
                                 "parts": [toolCall(id: item["call_id"], name: item["name"], arguments: item["arguments"])]])
            case "function_call_output":
                messages.append(["role": "tool", "parts": [["type": "tool_call_response", "id": item["call_id"] ?? NSNull(),
                                                            "response": item["output"] ?? NSNull()]]])
            case "reasoning":
                let summary = (item["summary"] as? [Any] ?? []).compactMap { ($0 as? [String: Any])?["text"] as? String }
                if !summary.isEmpty { messages.append(["role": "assistant", "parts": [["type": "reasoning", "content": summary.joined(separator: "\n")]]]) }
            default:
                if item["role"] != nil { messages.append(chatMessage(item)) }
            }
        }
        return messages
    }

    // MARK: Parts

    /// One content block as the conventions' parts. Images, documents and audio become a part naming only
    /// their type: their data would make a span of megabytes, and a URL or file id may not be one to share.
    private static func part(_ block: [String: Any]) -> [[String: Any]] {
        let type = block["type"] as? String ?? ""
        switch type {
        case "text", "input_text", "output_text":
            return [text(block["text"] as? String ?? "")]
        case "tool_use", "server_tool_use":
            return [toolCall(id: block["id"], name: block["name"], arguments: block["input"])]
        case "tool_result":
            return [["type": "tool_call_response", "id": block["tool_use_id"] ?? NSNull(), "response": block["content"] ?? NSNull()]]
        case "thinking":
            return [["type": "reasoning", "content": block["thinking"] as? String ?? ""]]
        case "refusal":
            return [text(block["refusal"] as? String ?? "")]
        case "":
            return []
        default:
            return [["type": type]]
        }
    }

    private static func text(_ content: String) -> [String: Any] {
        ["type": "text", "content": content]
    }

    /// OpenAI sends arguments as a JSON text, Anthropic as an object: the conventions want the value, so a
    /// text that parses is given parsed.
    private static func toolCall(id: Any?, name: Any?, arguments: Any?) -> [String: Any] {
        var value = arguments ?? NSNull()
        if let text = arguments as? String, let parsed = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed) {
            value = parsed
        }
        return ["type": "tool_call", "id": id ?? NSNull(), "name": name as? String ?? "", "arguments": value]
    }

    /// Sorted keys: the same record gives the same bytes, so a span sent again is the same span.
    private static func json(_ value: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return "[]"
        }
        return String(decoding: data, as: UTF8.self)
    }
}
