// The page's three files, compiled into the binary: no CDN, no files beside the binary, nothing fetched at run
// time. Written by hand, no framework, no build step: the page is Page.swift, its script Script.swift, its style
// Style.swift, each one raw string literal.

enum BrowserAssets {
    static var page: StaticString { pageText }
    static var script: StaticString { scriptText }
    static var style: StaticString { styleText }
}
