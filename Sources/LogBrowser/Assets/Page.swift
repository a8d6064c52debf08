// The one HTML page; the script draws every view into <main> (routes in the address's #fragment).

let pageText: StaticString = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>kgb</title>
<link rel="stylesheet" href="/app.css">
</head>
<body>
<header>
  <a class="brand" href="#/">kgb</a>
  <nav>
    <a href="#/" data-view="exchanges">Exchanges</a>
    <a href="#/overview" data-view="overview">Overview</a>
  </nav>
  <span id="live" class="live off" title="live updates">live</span>
</header>
<main id="main"><p class="muted">Loading…</p></main>
<script src="/app.js"></script>
</body>
</html>
"""#
