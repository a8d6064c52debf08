// libFuzzer runs fuzzRecordAssembler on every input (see FuzzSupport/FuzzDriver.swift).
import FuzzSupport

runFuzzer(fuzzRecordAssembler)
