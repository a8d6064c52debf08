let pageText: StaticString = #"<!doctype html><title>kgb</title>"#
