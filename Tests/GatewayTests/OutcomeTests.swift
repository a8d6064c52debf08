// The end record writes an outcome by its literal name; readers and stores know outcomes by their raw values.
import Gateway
import Testing

@Test func everyOutcomesLiteralNameIsItsRawValue() {
    for outcome in Outcome.allCases {
        #expect("\(outcome.name)" == outcome.rawValue)
    }
}
