// Message content for the opt-in span attributes gen_ai.input.messages, gen_ai.output.messages and
// gen_ai.system_instructions (`--otlp-content`): each API's messages mapped onto the conventions' JSON schemas
// (role and parts: text, tool_call, tool_call_response, reasoning), written as JSON strings.

enum GenAIMessages {
    /// The request's chat history and, where the API takes them apart from it (Anthropic's `system`, the
    /// Responses API's `instructions`), the system instructions. Nil when the body is not a JSON object.
    static func input(requestBody: String, api: ExchangeSpan.API?) -> (messages: String?, system: String?)? {
        guard let request = JSONTree(parsing: requestBody)?.object else { return nil }
        var messages: [JSONTree] = []
        if let history = request["messages"]?.array {
            for message in history where message.object != nil { messages.append(chatMessage(message)) }
        } else if api == .openAIResponses || request["input"] != nil {
            messages = responsesInput(request["input"])
        }
        var system: [JSONTree] = []
        switch request["system"] ?? request["instructions"] {
        case .string(let instructions)?:
            system = [text(instructions)]
        case .array(let blocks)?:
            for block in blocks where block.object != nil { system += part(block) }
        default:
            break
        }
        return (messages.isEmpty ? nil : JSONTree.array(messages).text, system.isEmpty ? nil : JSONTree.array(system).text)
    }

    /// The answer as output messages, one per choice: from a whole JSON answer, or for a stream from the text
    /// kgb followed (`sse.text`, one text part: the record keeps no stream's blocks apart, so tool-input JSON it
    /// accumulated is in that text too). Nil when there is neither.
    static func output(responseBody: String?, streamText: String?, finishReason: String) -> String? {
        if let streamText {
            let parts = streamText.isEmpty ? [] : [text(streamText)]
            return assistant(parts, finishReason)
        }
        guard let body = responseBody, let answer = JSONTree(parsing: body), answer.object != nil else { return nil }
        if let choices = answer["choices"]?.array {
            // OpenAI chat: each choice is a message of its own.
            var messages: [JSONTree] = []
            for choice in choices where choice.object != nil {
                let message = choice["message"]?.object != nil ? choice["message"]! : .object([:])
                guard case .object(var out) = chatMessage(message) else { continue }
                out["role"] = .string(message["role"]?.nonEmptyString ?? "assistant")
                out["finish_reason"] = .string(choice["finish_reason"]?.nonEmptyString ?? finishReason)
                messages.append(.object(out))
            }
            return messages.isEmpty ? nil : JSONTree.array(messages).text
        }
        if let content = answer["content"]?.array {
            // An Anthropic message.
            var parts: [JSONTree] = []
            for block in content where block.object != nil { parts += part(block) }
            return assistant(parts, finishReason)
        }
        if let output = answer["output"]?.array {
            // A Responses API response: its output items are one answer.
            let items = responsesInput(.array(output))
            let parts = items.flatMap { $0["parts"]?.array ?? [] }
            return assistant(parts, finishReason)
        }
        return nil
    }

    private static func assistant(_ parts: [JSONTree], _ finishReason: String) -> String {
        JSONTree.array([.object(["role": .string("assistant"), "parts": .array(parts), "finish_reason": .string(finishReason)])]).text
    }

    // MARK: Messages

    /// An Anthropic or OpenAI chat message: content as a string or a list of blocks, plus OpenAI's tool_calls
    /// and its `tool` role, whose content is a tool's answer.
    private static func chatMessage(_ message: JSONTree) -> JSONTree {
        let role = message["role"]?.nonEmptyString ?? "user"
        var parts: [JSONTree] = []
        if role == "tool" {
            parts.append(toolResponse(id: message["tool_call_id"], response: message["content"]))
        } else {
            switch message["content"] {
            case .string(let text)?: parts.append(self.text(text))
            case .array(let blocks)?: for block in blocks where block.object != nil { parts += part(block) }
            default: break
            }
        }
        for call in message["tool_calls"]?.array ?? [] where call.object != nil {
            let function = call["function"]?.object != nil ? call["function"]! : .object([:])
            parts.append(toolCall(id: call["id"], name: function["name"], arguments: function["arguments"]))
        }
        return .object(["role": .string(role), "parts": .array(parts)])
    }

    /// The Responses API's `input` (or a response's `output`): a string, or items that are messages, function
    /// calls and their outputs.
    private static func responsesInput(_ input: JSONTree?) -> [JSONTree] {
        if let text = input?.string { return [.object(["role": .string("user"), "parts": .array([self.text(text)])])] }
        var messages: [JSONTree] = []
        for item in input?.array ?? [] where item.object != nil {
            switch item["type"]?.string {
            case "function_call":
                messages.append(.object(["role": .string("assistant"),
                                         "parts": .array([toolCall(id: item["call_id"], name: item["name"], arguments: item["arguments"])])]))
            case "function_call_output":
                messages.append(.object(["role": .string("tool"),
                                         "parts": .array([toolResponse(id: item["call_id"], response: item["output"])])]))
            case "reasoning":
                let summary = (item["summary"]?.array ?? []).compactMap { $0["text"]?.string }
                if !summary.isEmpty {
                    messages.append(.object(["role": .string("assistant"),
                                             "parts": .array([.object(["type": .string("reasoning"),
                                                                       "content": .string(summary.joined(separator: "\n"))])])]))
                }
            default:
                if item["role"] != nil { messages.append(chatMessage(item)) }
            }
        }
        return messages
    }

    // MARK: Parts

    /// One content block as the conventions' parts. Images, documents and audio become a part naming only
    /// their type: their data would make a span of megabytes, and a URL or file id may not be one to share.
    private static func part(_ block: JSONTree) -> [JSONTree] {
        let type = block["type"]?.string ?? ""
        switch type {
        case "text", "input_text", "output_text":
            return [text(block["text"]?.string ?? "")]
        case "tool_use", "server_tool_use":
            return [toolCall(id: block["id"], name: block["name"], arguments: block["input"])]
        case "tool_result":
            return [toolResponse(id: block["tool_use_id"], response: block["content"])]
        case "thinking":
            return [.object(["type": .string("reasoning"), "content": .string(block["thinking"]?.string ?? "")])]
        case "refusal":
            return [text(block["refusal"]?.string ?? "")]
        case "":
            return []
        default:
            return [.object(["type": .string(type)])]
        }
    }

    private static func text(_ content: String) -> JSONTree {
        .object(["type": .string("text"), "content": .string(content)])
    }

    private static func toolResponse(id: JSONTree?, response: JSONTree?) -> JSONTree {
        .object(["type": .string("tool_call_response"), "id": id ?? .null, "response": response ?? .null])
    }

    /// OpenAI sends arguments as a JSON text, Anthropic as an object: the conventions want the value, so a
    /// text that parses is given parsed.
    private static func toolCall(id: JSONTree?, name: JSONTree?, arguments: JSONTree?) -> JSONTree {
        var value = arguments ?? .null
        if let text = arguments?.string, let parsed = JSONTree(parsing: text) { value = parsed }
        return .object(["type": .string("tool_call"), "id": id ?? .null, "name": .string(name?.string ?? ""), "arguments": value])
    }
}
