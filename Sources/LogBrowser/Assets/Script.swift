let scriptText: StaticString = #""#
