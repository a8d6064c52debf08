// libFuzzer runs fuzzUsageReaders on every input (see FuzzSupport/FuzzDriver.swift).
import FuzzSupport

runFuzzer(fuzzUsageReaders)
