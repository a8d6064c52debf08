// What one exchange cost and how it ended, as the upstream reported it: filled from SSE events (SSEAnalyzer)
// or a whole JSON answer (JSONBodyUsage). Every field is optional because a cut-off stream reports only part.

public struct Usage: Equatable, Sendable {
    public var model: String?
    public var inputTokens: Int?
    public var outputTokens: Int?
    public var cacheReadInputTokens: Int?
    public var cacheCreationInputTokens: Int?
    public var stopReason: String?
    /// The two APIs count cache hits differently: OpenAI's `prompt_tokens` includes the cached ones
    /// (`prompt_tokens_details.cached_tokens`), Anthropic's `input_tokens` excludes its cache reads and writes.
    /// True once an OpenAI usage object was read, so a cost counts each input token once.
    public var inputIncludesCacheRead: Bool

    public init(model: String? = nil, inputTokens: Int? = nil, outputTokens: Int? = nil,
                cacheReadInputTokens: Int? = nil, cacheCreationInputTokens: Int? = nil, stopReason: String? = nil,
                inputIncludesCacheRead: Bool = false) {
        self.model = model
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cacheReadInputTokens = cacheReadInputTokens
        self.cacheCreationInputTokens = cacheCreationInputTokens
        self.stopReason = stopReason
        self.inputIncludesCacheRead = inputIncludesCacheRead
    }

    /// Nothing was reported (which API's convention applies says nothing on its own).
    public var isEmpty: Bool { model == nil && !reportsTokens && stopReason == nil }

    /// The answer reported at least one token count (not only a model or a stop reason, as an OpenAI stream
    /// does without stream_options.include_usage).
    public var reportsTokens: Bool {
        inputTokens != nil || outputTokens != nil || cacheReadInputTokens != nil || cacheCreationInputTokens != nil
    }
}
