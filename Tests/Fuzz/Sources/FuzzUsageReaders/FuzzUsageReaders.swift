// The usage readers for whole JSON answers. Property: on every body that is JSON, the logger's fast reader (a
// top-level member scanner that parses only the usage object) reads exactly what the full parse reads. On a body
// that is not JSON the two may differ (the scanner does not validate what it skips; the fuzzer found a broken
// "usage" member after a valid "model"): the fast reader must then only not crash.
import ExchangeLog
import Foundation
import FuzzSupport

func fuzzUsageReaders(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let body = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    let fast = JSONBodyUsage.usage(body)
    guard (try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])) != nil else { return 0 }
    let full = JSONBodyUsage.analyze(body).usage
    guard fast == full else { violated("the fast usage reader agrees with the full parse", "\(fast) vs \(full)") }
    return 0
}
