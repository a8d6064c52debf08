// What one exchange cost and how it ended, as the upstream reported it: filled from SSE events (SSEAnalyzer)
// or a whole JSON answer (JSONBodyUsage). Every field is optional because a cut-off stream reports only part.

public struct Usage: Equatable, Sendable {
    public var model: String?
    public var inputTokens: Int?
    public var outputTokens: Int?
    public var cacheReadInputTokens: Int?
    public var cacheCreationInputTokens: Int?
    public var stopReason: String?

    public init(model: String? = nil, inputTokens: Int? = nil, outputTokens: Int? = nil,
                cacheReadInputTokens: Int? = nil, cacheCreationInputTokens: Int? = nil, stopReason: String? = nil) {
        self.model = model
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cacheReadInputTokens = cacheReadInputTokens
        self.cacheCreationInputTokens = cacheCreationInputTokens
        self.stopReason = stopReason
    }
}
