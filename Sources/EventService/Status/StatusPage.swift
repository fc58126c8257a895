/// `GET /status`: one self-contained HTML page (no external scripts,
/// styles or fonts) that follows `/status/stream` and redraws itself on
/// every event, without a reload. Element ids are stable: the browser test
/// and operators' own scripts read them.
enum StatusPage {
  static let bytes = Array(html.utf8)

  static let html = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Event Service status</title>
    <style>
    :root { --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --line: #d0d7de; --dim: #57606a; }
    * { box-sizing: border-box; }
    body { margin: 0; padding: 20px 24px; font: 14px/1.45 system-ui, sans-serif; color: #1f2328; background: #f6f8fa; }
    h1 { font-size: 20px; margin: 0 0 4px; }
    h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: var(--dim); margin: 0 0 8px; }
    .meta { color: var(--dim); margin-bottom: 16px; }
    .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 14px; }
    .card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
    .state { font-size: 26px; font-weight: 700; letter-spacing: .02em; }
    .CLOSED { color: var(--ok); } .OPEN { color: var(--bad); } .HALF_OPEN { color: var(--warn); }
    table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
    td, th { text-align: left; padding: 3px 6px 3px 0; border-bottom: 1px solid #eaeef2; }
    th { color: var(--dim); font-weight: 600; }
    td.n, th.n { text-align: right; }
    #link { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; color: #fff; background: var(--dim); }
    #link.live { background: var(--ok); } #link.lost { background: var(--bad); }
    .wide { grid-column: 1 / -1; }
    </style>
    </head>
    <body>
    <h1>Event Service <span id="link">connecting</span></h1>
    <div class="meta">version <span id="version">?</span> · <span id="draining">serving</span> · updated <span id="updated">never</span> · <span id="viewers">0</span> viewer(s)</div>
    <div class="grid">
      <div class="card"><h2>Write breaker (POST /addEvent)</h2>
        <div id="write-state" class="state">?</div>
        <div id="write-detail"><span id="write-failures">0</span> failure(s) in the window · next probe <span id="write-retry">—</span></div></div>
      <div class="card"><h2>Read breaker (upstream GETs)</h2>
        <div id="read-state" class="state">?</div>
        <div id="read-detail"><span id="read-failures">0</span> failure(s) in the window · next probe <span id="read-retry">—</span></div></div>
      <div class="card"><h2>Load</h2><table>
        <tr><td>requests in flight</td><td class="n" id="inflight">0</td></tr>
        <tr><td>admission limit</td><td class="n" id="max-inflight">0</td></tr>
        <tr><td>upstream connections busy / idle</td><td class="n"><span id="conn-busy">0</span> / <span id="conn-idle">0</span></td></tr>
        <tr><td>waiting for a connection</td><td class="n" id="conn-waiting">0</td></tr></table></div>
      <div class="card"><h2>Retry budget</h2><table>
        <tr><td>first attempts in the window</td><td class="n" id="retry-first">0</td></tr>
        <tr><td>retries in the window</td><td class="n" id="retry-spent">0</td></tr>
        <tr><td>retries available now</td><td class="n" id="retry-available">0</td></tr></table></div>
      <div class="card"><h2>Hedging</h2><table id="hedging">
        <tr><td>event fetches in the window</td><td class="n" id="hedge-first">—</td></tr>
        <tr><td>hedges in the window</td><td class="n" id="hedge-spent">—</td></tr>
        <tr><td>hedges available now</td><td class="n" id="hedge-available">—</td></tr>
        <tr><td>hedge after</td><td class="n" id="hedge-delay">—</td></tr></table></div>
      <div class="card"><h2>Upstream latency (recent attempts)</h2><table>
        <thead><tr><th>route</th><th class="n">p50 ms</th><th class="n">p99 ms</th></tr></thead>
        <tbody id="latency"><tr><td colspan="3">no attempts yet</td></tr></tbody></table></div>
      <div class="card"><h2>Kept answers</h2><table>
        <thead><tr><th>route</th><th class="n">hit</th><th class="n">stale</th><th class="n">miss</th></tr></thead>
        <tbody id="cache"><tr><td colspan="4">none kept (CACHE_TTL_MS and STALE_IF_ERROR_MS are 0)</td></tr></tbody></table></div>
      <div class="card wide"><h2>Last breaker transitions</h2><table>
        <thead><tr><th>when</th><th>breaker</th><th>from</th><th>to</th><th>why</th></tr></thead>
        <tbody id="transitions"><tr><td colspan="5">none since start</td></tr></tbody></table></div>
    </div>
    <script>
    "use strict";
    const $ = (id) => document.getElementById(id);
    const text = (id, value) => { $(id).textContent = String(value); };
    const seconds = (ms) => ms == null ? "—" : (ms / 1000).toFixed(1) + " s";
    const fixed = (n) => Number.isInteger(n) ? String(n) : n.toFixed(1);
    function rows(id, items, cells, empty) {
      const body = $(id);
      body.replaceChildren();
      if (items.length === 0) {
        const row = body.insertRow(); const cell = row.insertCell();
        cell.colSpan = 5; cell.textContent = empty; return;
      }
      for (const item of items) {
        const row = body.insertRow();
        cells(item).forEach((value, i) => {
          const cell = row.insertCell(); cell.textContent = String(value);
          if (typeof value === "number") { cell.className = "n"; cell.textContent = fixed(value); }
        });
      }
    }
    function breaker(name, b) {
      const state = $(name + "-state");
      const detail = $(name + "-detail");
      if (b == null) { state.textContent = "off"; state.className = "state"; detail.hidden = true; return; }
      detail.hidden = false;
      state.textContent = b.state; state.className = "state " + b.state;
      text(name + "-failures", b.failuresInWindow);
      text(name + "-retry", b.state === "OPEN" ? "in " + seconds(b.retryAfterMs) : "—");
    }
    function render(s) {
      text("version", s.version);
      text("draining", s.draining ? "draining" : "serving");
      text("updated", new Date().toLocaleTimeString());
      text("viewers", s.viewers);
      breaker("write", s.breakers.write);
      breaker("read", s.breakers.read);
      text("inflight", s.inflight); text("max-inflight", s.maxInflight);
      text("conn-busy", s.connections.busy); text("conn-idle", s.connections.idle);
      text("conn-waiting", s.connections.waiting);
      text("retry-first", s.retryBudget.firstAttempts); text("retry-spent", s.retryBudget.retries);
      text("retry-available", s.retryBudget.available);
      const h = s.hedging;
      text("hedge-first", h ? h.firstAttempts : "off"); text("hedge-spent", h ? h.hedges : "—");
      text("hedge-available", h ? h.available : "—");
      text("hedge-delay", h && h.delayMs != null ? h.delayMs + " ms" : "—");
      rows("latency", s.upstreamLatency, (l) => [l.route, l.p50Ms, l.p99Ms], "no attempts yet");
      rows("cache", s.cache, (c) => [c.route, c.hit, c.stale, c.miss], "none kept (CACHE_TTL_MS and STALE_IF_ERROR_MS are 0)");
      rows("transitions", s.transitions, (t) => [seconds(t.agoMs) + " ago", t.breaker, t.from, t.to, t.reason], "none since start");
    }
    const stream = new EventSource("/status/stream");
    stream.addEventListener("status", (event) => {
      $("link").textContent = "live"; $("link").className = "live";
      render(JSON.parse(event.data));
    });
    stream.onerror = () => { $("link").textContent = "reconnecting"; $("link").className = "lost"; };
    </script>
    </body>
    </html>
    """#
}
