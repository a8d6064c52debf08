let styleText: StaticString = #""#
