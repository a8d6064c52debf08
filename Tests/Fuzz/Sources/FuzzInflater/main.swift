// libFuzzer runs fuzzInflater on every input (see FuzzSupport/FuzzDriver.swift).
import FuzzSupport

runFuzzer(fuzzInflater)
