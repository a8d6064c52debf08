// The state of one request/response exchange on a client connection, from request head to the end record.
import HTTP1

struct Exchange {
    let id: UInt64
    var upstream: UpstreamConnection?
    /// How the request body is framed towards the upstream.
    var requestFraming: BodyFraming
    /// How the response body is framed towards the client.
    var responseFraming = BodyFraming.none
    /// The upstream response is chunked and the client gets the same chunks (boundaries preserved).
    var relayChunks = false
    var isHeadRequest: Bool
    var clientIsHTTP10: Bool
    var requestDone = false
    var responseStarted = false
    var responseDone = false
    /// The client connection closes after this exchange.
    var closeAfter: Bool
    /// The size-0 chunk has been parsed (its CRLF is part of the terminator we write ourselves).
    var requestInLastChunk = false
    var responseInLastChunk = false
    var timing = ExchangeTiming()
    /// For metrics: the route's index (configuration order; the route count for "none") and the final status
    /// the client got (0: none).
    var routeIndex = 0
    var status = 0
}
