// libFuzzer runs fuzzSSEAnalyzer on every input (see FuzzSupport/FuzzDriver.swift).
import FuzzSupport

runFuzzer(fuzzSSEAnalyzer)
