// The SSE analyser. Property: a stream cut into four pieces anywhere (a CRLF split between pieces, a UTF-8
// character split, a JSON event split) reads exactly as it does whole: the same event count, answer text and usage.
import ExchangeLog
import FuzzSupport

func fuzzSSEAnalyzer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let cuts = [input.below(8192), input.below(8192), input.below(8192)]
    let stream = input.rest
    var whole = SSEAnalyzer()
    whole.feed(stream)
    whole.finish()
    var split = SSEAnalyzer()
    for piece in pieces(stream, cuts: cuts) { split.feed(piece) }
    split.finish()
    guard whole.events == split.events, whole.text == split.text, whole.usage == split.usage else {
        violated("an event stream reads the same whole and split", "cuts \(cuts): \(whole.events)/\(split.events) events, "
                 + "usage \(whole.usage) vs \(split.usage)")
    }
    return 0
}
