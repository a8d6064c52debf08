// Usage from whole (non-streamed) answers of both APIs, and from bodies that are no answer at all.
import ExchangeLog
import Testing

@Test func anthropicMessage() {
    let body = #"""
    {"id":"msg_013Zva2CMHLNnXjNJJKqJ2EF","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",
     "content":[{"type":"text","text":"Hi! "},{"type":"tool_use","id":"toolu_1","name":"f","input":{"a":1}},
                {"type":"text","text":"My name is Claude."}],
     "stop_reason":"end_turn","stop_sequence":null,
     "usage":{"input_tokens":2095,"cache_creation_input_tokens":0,"cache_read_input_tokens":1800,"output_tokens":503}}
    """#
    let result = JSONBodyUsage.analyze(Array(body.utf8))
    #expect(result.usage == Usage(model: "claude-sonnet-4-5-20250929", inputTokens: 2095, outputTokens: 503,
                                  cacheReadInputTokens: 1800, cacheCreationInputTokens: 0, stopReason: "end_turn"))
    #expect(result.text == "Hi! My name is Claude.")
}

@Test func openAIChatCompletion() {
    let body = #"""
    {"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion","created":1741569952,
     "model":"gpt-4.1-2025-04-14","choices":[{"index":0,"message":{"role":"assistant",
     "content":"Hello! How can I assist you today?","refusal":null,"annotations":[]},"logprobs":null,
     "finish_reason":"stop"}],"usage":{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,
     "prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}},
     "service_tier":"default"}
    """#
    let result = JSONBodyUsage.analyze(Array(body.utf8))
    #expect(result.usage == Usage(model: "gpt-4.1-2025-04-14", inputTokens: 19, outputTokens: 10,
                                  cacheReadInputTokens: 0, stopReason: "stop", inputIncludesCacheRead: true))
    #expect(result.text == "Hello! How can I assist you today?")
}

@Test func eachAnswerSaysWhichInputConvention() {
    // prompt_tokens (OpenAI) includes cached_tokens; input_tokens (Anthropic) excludes cache reads and writes.
    let openAI = Array(#"{"object":"chat.completion","model":"gpt-4o","choices":[],"usage":{"prompt_tokens":2006,"completion_tokens":300,"prompt_tokens_details":{"cached_tokens":1920}}}"#.utf8)
    let anthropic = Array(#"{"type":"message","model":"claude-sonnet-4-5","usage":{"input_tokens":50,"cache_read_input_tokens":1920,"output_tokens":300}}"#.utf8)
    for usage in [JSONBodyUsage.analyze(openAI).usage, JSONBodyUsage.usage(openAI)] {
        #expect(usage.inputIncludesCacheRead)
        #expect(usage.inputTokens == 2006 && usage.cacheReadInputTokens == 1920)
    }
    for usage in [JSONBodyUsage.analyze(anthropic).usage, JSONBodyUsage.usage(anthropic)] {
        #expect(!usage.inputIncludesCacheRead)
        #expect(usage.inputTokens == 50 && usage.cacheReadInputTokens == 1920)
    }
}

@Test func openAIToolCallHasNoText() {
    let body = #"{"object":"chat.completion","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":5,"completion_tokens":6}}"#
    let result = JSONBodyUsage.analyze(Array(body.utf8))
    #expect(result.usage == Usage(model: "gpt-4o", inputTokens: 5, outputTokens: 6, stopReason: "tool_calls",
                                  inputIncludesCacheRead: true))
    #expect(result.text == nil)
}

@Test func notAnAnswer() {
    let error = #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#
    #expect(JSONBodyUsage.analyze(Array(error.utf8)).usage == Usage())
    #expect(JSONBodyUsage.analyze(Array(error.utf8)).text == nil)
    #expect(JSONBodyUsage.analyze(Array("{\"model\":".utf8)).usage == Usage())
    #expect(JSONBodyUsage.analyze([0xFF]).text == nil)
    #expect(JSONBodyUsage.analyze([]).text == nil)
}

// The scanner-based reader the logger uses must agree with the full parse on every body.
@Test(arguments: [
    #"{"id":"m","type":"message","model":"claude-x","content":[{"type":"tool_use","input":{"model":"nested","usage":{"input_tokens":1}}}],"stop_reason":"tool_use","usage":{"input_tokens":7,"output_tokens":3,"cache_read_input_tokens":2,"cache_creation_input_tokens":1}}"#,
    #"{"object":"chat.completion","model":"gpt-4o","choices":[{"index":1,"message":{"content":"b"},"finish_reason":"length"},{"index":0,"message":{"content":"a \"q\" ]}"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":6,"prompt_tokens_details":{"cached_tokens":4}}}"#,
    #"  { "model" : "spaced" , "usage" : { "input_tokens" : 1 , "output_tokens" : 2 } , "stop_reason" : null }  "#,
    #"{"model":"esc\u00e9\"","stop_reason":"","usage":null}"#,
    #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
    #"{"model":"cut"#, "[1,2]", "", "null", #"{"a":tru"#,
    #"{"model":"m","usage":{"input_tokens":12.0,"output_tokens":1.5,"cache_read_input_tokens":1e2,"cache_creation_input_tokens":null}}"#,
    #"{"model":"m","usage":{"input_tokens":-3,"output_tokens":99999999999999999999,"cache_read_input_tokens":"7"}}"#,
    #"{"object":"chat.completion","choices":[],"usage":{"prompt_tokens":2,"prompt_tokens_details":null,"completion_tokens":{"x":1}}}"#,
    #"{"model":"m","usage":[1,2]}"#,
    // Found by the fuzzer: an "object" that is not a chat completion decides, whatever "choices" holds.
    #"{"object":"chat.completio/","model":"gpt-x","choices":[{"finish_reason":"stop"}],"usage":{"prompt_tokens":15,"completion_tokens":20}}"#,
    #"{"choices":[],"object":"message","usage":{"input_tokens":3,"prompt_tokens":4}}"#,
    #"{"choices":[],"usage":{"input_tokens":3,"prompt_tokens":4}}"#,
    #"{"model":"m","usage":{"input_tokens":1},}"#,
    #"{"model":"m","model":{"x":1},"stop_reason":"a","stop_reason":null,"usage":{"input_tokens":1}}"#,
    #"{"object":"chat.completion","object":1,"choices":[],"choices":{},"usage":{"prompt_tokens":2,"input_tokens":3}}"#,
    // Which input convention applies: set by an OpenAI usage object, even an empty one; not by null or a number.
    #"{"object":"chat.completion","model":"gpt-4o","choices":[],"usage":{}}"#,
    #"{"object":"chat.completion","model":"gpt-4o","choices":[],"usage":null}"#,
    #"{"object":"chat.completion","model":"gpt-4o","choices":[],"usage":7}"#,
    #"{"object":"chat.completion","model":"gpt-4o","choices":[],"usage":{"prompt_tokens":9,"prompt_tokens_details":{"cached_tokens":8}},"usage":null}"#,
    #"{"choices":[],"usage":{"prompt_tokens_details":{"cached_tokens":8}}}"#,
    // Found by the fuzzer: a choice index beyond Int's range, or not a number, counts as 0 for both readers.
    #"{"object":"chat.completion","model":"gpt-x","choices":[{"index":77777777777777777777777777777777770,"finish_reason":"stop"}]}"#,
    #"{"object":"chat.completion","model":"gpt-x","choices":[{"index":"1","finish_reason":"stop"}]}"#,
    #"{"object":"chat.completion","model":"gpt-x","choices":[{"index":1e0,"finish_reason":"late"},{"index":0.0,"finish_reason":"stop"}]}"#,
])
func scannerAgreesWithTheFullParse(_ body: String) {
    let bytes = Array(body.utf8)
    #expect(JSONBodyUsage.usage(bytes) == JSONBodyUsage.analyze(bytes).usage)
}

@Test func aKnownModelNameIsReusedOnlyWhenItIsTheAnswers() {
    let body = Array(#"{"model":"claude-haiku-4-5","usage":{"input_tokens":1,"output_tokens":2}}"#.utf8)
    #expect(JSONBodyUsage.usage(body, knownModel: "claude-haiku-4-5").model == "claude-haiku-4-5")
    #expect(JSONBodyUsage.usage(body, knownModel: "claude-haiku-4-6").model == "claude-haiku-4-5")
    #expect(JSONBodyUsage.usage(body, knownModel: "claude-haiku-4").model == "claude-haiku-4-5")
    #expect(JSONBodyUsage.usage(body, knownModel: "").model == "claude-haiku-4-5")
    let empty = Array(#"{"model":"","usage":{"input_tokens":1}}"#.utf8)
    #expect(JSONBodyUsage.usage(empty, knownModel: "").model == nil)
}
