// The price table kgb ships, used unless --prices names another file. Read by the same parser as that file
// (PriceFile), at start-up, so the two cannot drift apart in format.
//
// Prices as of 2026-11-30, in USD per million tokens, from the providers' pricing pages:
//   Anthropic  https://docs.anthropic.com/en/docs/about-claude/pricing
//   OpenAI     https://openai.com/api/pricing/ and https://platform.openai.com/docs/pricing
// Standard (pay-as-you-go) rates only: not Anthropic's long-context (over 200k input tokens) or 1-hour cache-write
// rates, nor either provider's batch, flex or priority rates. A snapshot id (claude-sonnet-4-5-20250929) finds its
// model by the longest key that is a prefix of it.

enum DefaultPrices {
    static let date = "2026-11-30"

    static let toml = """
        [models]
        # Anthropic: cache_write is a 5-minute prompt-cache write; cache_read a cache hit or refresh.
        "claude-opus-4-5"   = { input =   5.0, output =  25.0, cache_write =  6.25, cache_read =   0.5 }
        "claude-opus-4-1"   = { input =  15.0, output =  75.0, cache_write = 18.75, cache_read =   1.5 }
        "claude-opus-4"     = { input =  15.0, output =  75.0, cache_write = 18.75, cache_read =   1.5 }
        "claude-sonnet-4-5" = { input =   3.0, output =  15.0, cache_write =  3.75, cache_read =   0.3 }
        "claude-sonnet-4"   = { input =   3.0, output =  15.0, cache_write =  3.75, cache_read =   0.3 }
        "claude-3-7-sonnet" = { input =   3.0, output =  15.0, cache_write =  3.75, cache_read =   0.3 }
        "claude-haiku-4-5"  = { input =   1.0, output =   5.0, cache_write =  1.25, cache_read =   0.1 }
        "claude-3-5-haiku"  = { input =   0.8, output =   4.0, cache_write =   1.0, cache_read =  0.08 }
        "claude-3-5-sonnet" = { input =   3.0, output =  15.0, cache_write =  3.75, cache_read =   0.3 }
        "claude-3-opus"     = { input =  15.0, output =  75.0, cache_write = 18.75, cache_read =   1.5 }
        "claude-3-haiku"    = { input =  0.25, output =  1.25, cache_write =   0.3, cache_read =  0.03 }
        # OpenAI: cache_read is "cached input"; writing the cache costs nothing extra, so cache_write = input.
        "gpt-5.1"           = { input =  1.25, output =  10.0, cache_write =  1.25, cache_read = 0.125 }
        "gpt-5"             = { input =  1.25, output =  10.0, cache_write =  1.25, cache_read = 0.125 }
        "gpt-5-mini"        = { input =  0.25, output =   2.0, cache_write =  0.25, cache_read = 0.025 }
        "gpt-5-nano"        = { input =  0.05, output =   0.4, cache_write =  0.05, cache_read = 0.005 }
        "gpt-4.1"           = { input =   2.0, output =   8.0, cache_write =   2.0, cache_read =   0.5 }
        "gpt-4.1-mini"      = { input =   0.4, output =   1.6, cache_write =   0.4, cache_read =   0.1 }
        "gpt-4.1-nano"      = { input =   0.1, output =   0.4, cache_write =   0.1, cache_read = 0.025 }
        "gpt-4o"            = { input =   2.5, output =  10.0, cache_write =   2.5, cache_read =  1.25 }
        "gpt-4o-mini"       = { input =  0.15, output =   0.6, cache_write =  0.15, cache_read = 0.075 }
        "o3"                = { input =   2.0, output =   8.0, cache_write =   2.0, cache_read =   0.5 }
        "o3-mini"           = { input =   1.1, output =   4.4, cache_write =   1.1, cache_read =  0.55 }
        "o4-mini"           = { input =   1.1, output =   4.4, cache_write =   1.1, cache_read = 0.275 }
        "o1"                = { input =  15.0, output =  60.0, cache_write =  15.0, cache_read =   7.5 }
        """
}
