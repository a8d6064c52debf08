// The page's style: plain CSS, light and dark by the system's setting.

let styleText: StaticString = #"""
:root {
  --bg: #fbfbfa; --fg: #1f2328; --muted: #6e7781; --line: #d8dee4; --panel: #ffffff; --accent: #0969da;
  --bad: #cf222e; --bad-bg: #fff1f0; --new: #fff8c5; --user: #eef6ff; --assistant: #f6f8fa; --tool: #f3efff;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #0d1117; --fg: #e6edf3; --muted: #8b949e; --line: #30363d; --panel: #161b22; --accent: #4493f8;
          --bad: #ff7b72; --bad-bg: #2d1416; --new: #3b2f00; --user: #0f2540; --assistant: #161b22; --tool: #221a3a; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
header { display: flex; align-items: center; gap: 24px; padding: 10px 24px; border-bottom: 1px solid var(--line); background: var(--panel); position: sticky; top: 0; z-index: 2; }
.brand { font-weight: 700; font-size: 18px; color: var(--fg); }
nav { display: flex; gap: 16px; }
nav a.active { color: var(--fg); font-weight: 600; border-bottom: 2px solid var(--accent); }
.live { margin-left: auto; font-size: 12px; color: var(--muted); }
.live::before { content: "●"; margin-right: 4px; }
.live.on::before { color: #2da44e; }
main { padding: 16px 24px 48px; max-width: 1400px; }
h1 { font-size: 20px; margin: 8px 0 16px; }
h2 { font-size: 16px; margin: 24px 0 8px; }
h3 { font-size: 14px; margin: 8px 0; }
.muted { color: var(--muted); }
.mono, pre, .path { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; }
.error { color: var(--bad); white-space: pre-wrap; }
.filters { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 8px 12px; align-items: end;
           background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 12px; margin-bottom: 12px; }
.filters label { display: flex; flex-direction: column; gap: 2px; font-size: 12px; color: var(--muted); }
.filters label.wide { grid-column: span 2; }
input, select, button, .button { font: inherit; padding: 5px 8px; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--fg); }
button, .button { cursor: pointer; display: inline-block; }
button[type=submit] { background: var(--accent); color: #fff; border-color: var(--accent); }
.button.plain { border-color: transparent; }
.button.active { border-color: var(--accent); color: var(--accent); }
.actions { display: flex; gap: 8px; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; background: var(--panel); }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
table.exchanges tr { cursor: pointer; }
table.exchanges tr:hover td { background: var(--assistant); }
tr.failed td { background: var(--bad-bg); }
tr.new td { background: var(--new); transition: background 2s; }
.status.s2 { color: #1a7f37; } .status.s4, .status.s5, .status.s0 { color: var(--bad); font-weight: 600; }
.outcome { color: var(--bad); font-size: 12px; }
.error-text { color: var(--bad); font-size: 12px; white-space: normal; }
.session { margin-left: 6px; font-size: 12px; }
.pager { display: flex; gap: 12px; align-items: center; margin-top: 12px; }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 8px; margin-bottom: 8px; }
.fact { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 8px 10px; }
.fact span { display: block; font-size: 12px; color: var(--muted); }
.fact b { font-weight: 600; overflow-wrap: anywhere; }
.fact.failed b { color: var(--bad); }
.conversation { display: flex; flex-direction: column; gap: 8px; }
.message { border: 1px solid var(--line); border-radius: 8px; padding: 8px 12px; background: var(--panel); }
.message.user { background: var(--user); }
.message.assistant { background: var(--assistant); }
.message.system { background: var(--panel); border-style: dashed; }
.message.tool { background: var(--tool); }
.role { font-size: 11px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); margin-bottom: 4px; }
.block { margin: 4px 0; }
.block.text { white-space: pre-wrap; overflow-wrap: anywhere; }
.block.thinking { color: var(--muted); white-space: pre-wrap; }
.block.tool-use, .block.tool-result { background: var(--tool); border-radius: 6px; padding: 6px 8px; }
.block.tool-result.failed { border-left: 3px solid var(--bad); }
.tool-name { font-size: 12px; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: 4px 0; }
pre.raw { max-height: 480px; overflow: auto; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 8px; }
.columns { display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr)); gap: 16px; }
table.headers td { font-size: 12px; overflow-wrap: anywhere; }
.timing-wrap { max-width: 820px; }
svg.timing { width: 100%; height: 30px; background: var(--panel); border: 1px solid var(--line); border-radius: 4px; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 12px; color: var(--muted); margin-top: 4px; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: middle; }
.turn { border-left: 3px solid var(--line); padding-left: 12px; margin: 16px 0; }
.turn.failed { border-left-color: var(--bad); }
.turn-head { font-size: 13px; margin-bottom: 6px; }
.ranges { display: flex; gap: 8px; margin-bottom: 12px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); gap: 16px; }
figure.chart { margin: 0; background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 10px; }
figcaption { font-weight: 600; margin-bottom: 4px; }
.chart-svg { width: 100%; height: auto; }
.chart-svg .grid { stroke: var(--line); }
.chart-svg .tick { fill: var(--muted); font-size: 11px; }
table.totals { margin-bottom: 8px; }
details > summary { cursor: pointer; color: var(--muted); }
.curl button { float: right; }
"""#
