// libFuzzer runs fuzzResponseParser on every input (see FuzzSupport/FuzzDriver.swift).
import FuzzSupport

runFuzzer(fuzzResponseParser)
