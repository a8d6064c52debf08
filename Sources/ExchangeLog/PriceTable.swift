// What an exchange cost: a price per model (USD per million tokens) and the arithmetic from the usage the
// answer reported. The table comes from kgb's shipped default or `--prices FILE` (parsed in the kgb target).

public struct ModelPrice: Equatable, Sendable {
    /// USD per million tokens of each kind.
    public var input: Double
    public var output: Double
    /// Anthropic's prompt-cache writes (5-minute); OpenAI charges none beyond the input price.
    public var cacheWrite: Double
    /// Input tokens served from the prompt cache.
    public var cacheRead: Double

    public init(input: Double, output: Double, cacheWrite: Double, cacheRead: Double) {
        self.input = input
        self.output = output
        self.cacheWrite = cacheWrite
        self.cacheRead = cacheRead
    }
}

public struct PriceTable: Equatable, Sendable {
    /// By model id or id prefix ("claude-sonnet-4-5", "gpt-4o-mini").
    public var models: [String: ModelPrice]

    public init(_ models: [String: ModelPrice] = [:]) {
        self.models = models
    }

    /// The exact id first, else the longest key that is a prefix of it: answers name dated snapshots
    /// (claude-sonnet-4-5-20250929, gpt-4o-mini-2024-07-18) while the table names the model, and the longest
    /// key keeps claude-sonnet-4-5-… off claude-sonnet-4 and gpt-4o-mini-… off gpt-4o.
    public func price(for model: String) -> ModelPrice? {
        if let exact = models[model] { return exact }
        var best: (key: String, price: ModelPrice)?
        for (key, price) in models where !key.isEmpty && model.hasPrefix(key) {
            if key.utf8.count > best?.key.utf8.count ?? 0 { best = (key, price) }
        }
        return best?.price
    }

    /// USD, rounded to a nano-dollar (far below a token's price, and short in a record); nil when the answer
    /// named no model, the table does not price it, or no token count was reported (an OpenAI stream without
    /// stream_options.include_usage: its cost is unknown, not zero). A count that is missing is taken as 0.
    public func cost(of usage: Usage) -> Double? {
        guard usage.reportsTokens, let model = usage.model, let price = price(for: model) else { return nil }
        return cost(of: usage, at: price)
    }

    /// As `cost(of:)`, at the model's price found already (the usage reports tokens; the logger remembers the
    /// table's answers).
    func cost(of usage: Usage, at price: ModelPrice) -> Double {
        func count(_ value: Int?) -> Double { Double(max(0, value ?? 0)) }
        let cacheRead = count(usage.cacheReadInputTokens)
        // OpenAI's prompt_tokens already holds the cached tokens: price those once, at the cache rate.
        // Anthropic's input_tokens holds neither cache reads nor cache writes.
        let uncachedInput = usage.inputIncludesCacheRead ? max(0, count(usage.inputTokens) - cacheRead)
                                                         : count(usage.inputTokens)
        let perMillion = uncachedInput * price.input + count(usage.cacheCreationInputTokens) * price.cacheWrite
            + cacheRead * price.cacheRead + count(usage.outputTokens) * price.output
        return (perMillion / 1e6 * 1e9).rounded() / 1e9
    }
}
