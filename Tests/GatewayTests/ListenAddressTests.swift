// Listen addresses as users write them in --listen / KGB_LISTEN.
import Testing
import UV

@Test(arguments: [("127.0.0.1:8080", "127.0.0.1:8080"), ("[::1]:9000", "[::1]:9000"), (":8080", "0.0.0.0:8080"),
                  ("localhost:0", "127.0.0.1:0"), ("0.0.0.0:443", "0.0.0.0:443")])
func parsesListenAddresses(_ text: String, _ expected: String) throws {
    #expect(try #require(SocketAddress(listen: text)).description == expected)
}

@Test(arguments: ["nowhere", "127.0.0.1", "127.0.0.1:99999", "example.com:80", "[::1]", "127.0.0.1:-1", ""])
func rejectsBadListenAddresses(_ text: String) {
    #expect(SocketAddress(listen: text) == nil)
}
