// libFuzzer runs fuzzRequestParser on every input (see FuzzSupport/FuzzDriver.swift).
import FuzzSupport

runFuzzer(fuzzRequestParser)
