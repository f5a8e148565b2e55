/// The admin listener's live status page: one self-contained HTML document (no external assets,
/// so it works on an air-gapped host) that reads `/status/events` and redraws every second.
///
/// It builds every element with `textContent`, never markup from data: route ids, upstream URLs
/// and rate-limit keys (client ids) come from routes.json and from clients. When the listener
/// needs a token, open the page as `/status#token=<access token>`: the fragment never leaves the
/// browser, and the page sends it as a bearer token (EventSource cannot send headers, so the page
/// reads the stream with fetch).
enum StatusPage {
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'"

    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Portier gateway status</title>
        <style>
        :root { --fg:#1d2330; --muted:#6b7385; --line:#e3e6ec; --ok:#1f9d55; --warn:#d69e2e; --bad:#d64545; --bg:#f7f8fa; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
        header { display: flex; flex-wrap: wrap; gap: 8px 24px; align-items: baseline; padding: 14px 20px; background: #1d2330; color: #fff; }
        header h1 { font-size: 17px; margin: 0; font-weight: 600; }
        header .meta { color: #b8bfcc; font-size: 13px; }
        #live { margin-left: auto; font-size: 13px; }
        #live[data-state="live"]::before { content: "● "; color: #48bb78; }
        #live[data-state="lost"]::before { content: "● "; color: var(--bad); }
        main { padding: 16px 20px 32px; }
        section { background: #fff; border: 1px solid var(--line); border-radius: 8px; margin-bottom: 16px; overflow-x: auto; }
        section h2 { font-size: 14px; margin: 0; padding: 10px 14px; border-bottom: 1px solid var(--line); }
        table { border-collapse: collapse; width: 100%; }
        th, td { text-align: left; padding: 8px 10px; border-bottom: 1px solid var(--line); vertical-align: top; white-space: nowrap; }
        th { font-size: 12px; color: var(--muted); font-weight: 600; }
        tr:last-child td { border-bottom: 0; }
        .muted { color: var(--muted); }
        .badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; color: #fff; }
        .closed, .up, .ok { background: var(--ok); }
        .half_open { background: var(--warn); }
        .open, .ejected, .rejected, .unreadable { background: var(--bad); }
        .dot { display: inline-block; width: 8px; height: 8px; border-radius: 4px; margin-right: 6px; }
        .spark { display: flex; align-items: center; gap: 6px; }
        .spark svg { width: 72px; height: 20px; }
        .spark polyline { fill: none; stroke-width: 1.5; }
        .num { font-variant-numeric: tabular-nums; }
        #reload-error { color: var(--bad); white-space: pre-wrap; padding: 10px 14px; margin: 0; font: 13px ui-monospace, monospace; }
        #reload-error:empty { display: none; }
        .kv { padding: 10px 14px; display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; }
        </style>
        </head>
        <body>
        <header>
          <h1>Portier gateway</h1>
          <span class="meta" id="started"></span>
          <span class="meta" id="generated"></span>
          <span id="live" data-state="connecting">connecting…</span>
        </header>
        <main>
          <section id="table-section">
            <h2>Route table</h2>
            <div class="kv">
              <span class="muted">version</span><span id="version" class="num"></span>
              <span class="muted">last reload</span><span><span id="reload" class="badge"></span> <span id="reload-detail" class="muted"></span></span>
            </div>
            <pre id="reload-error"></pre>
          </section>
          <section>
            <h2>Routes <span class="muted">(last 60 s)</span></h2>
            <table>
              <thead><tr>
                <th>Route</th><th>Upstreams</th><th>Breaker</th><th>Rate limit</th>
                <th>Requests/s</th><th>Errors</th><th>p50</th><th>p99</th>
              </tr></thead>
              <tbody id="routes"></tbody>
            </table>
          </section>
          <section id="auth-section">
            <h2>Tokens</h2>
            <div class="kv" id="auth"></div>
          </section>
        </main>
        <script>
        "use strict";
        const token = (() => {
          const match = /(?:^|&)token=([^&]+)/.exec(location.hash.slice(1));
          if (match) {
            try { sessionStorage.setItem("portier-admin-token", decodeURIComponent(match[1])); } catch (error) { /* a malformed fragment */ }
            // Out of the address bar and the history: the token stays in this tab's session only.
            history.replaceState(null, "", location.pathname + location.search);
          }
          return sessionStorage.getItem("portier-admin-token");
        })();
        const $ = (id) => document.getElementById(id);
        function el(tag, attrs, ...children) {
          const node = document.createElement(tag);
          for (const [name, value] of Object.entries(attrs || {})) {
            if (name === "class") node.className = value; else node.setAttribute(name, value);
          }
          for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
          return node;
        }
        function badge(state, text) { return el("span", { class: "badge " + state, "data-state": state }, text || state.replace("_", "-")); }
        function fmt(value, digits, unit) { return value == null ? "–" : value.toFixed(digits) + (unit || ""); }
        function sparkline(values, color, format) {
          const wrap = el("span", { class: "spark" });
          const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
          svg.setAttribute("viewBox", "0 0 60 20");
          svg.setAttribute("preserveAspectRatio", "none");
          const max = Math.max(...values.map((v) => v || 0), 1e-9);
          const points = values.map((v, i) => i + "," + (19 - ((v || 0) / max) * 18).toFixed(1)).join(" ");
          const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
          line.setAttribute("points", points);
          line.setAttribute("stroke", color);
          svg.append(line);
          wrap.append(svg, el("span", { class: "num" }, format));
          return wrap;
        }
        function render(s) {
          $("started").textContent = "up since " + s.startedAt;
          $("generated").textContent = "as of " + s.generatedAt;
          $("version").textContent = s.routeTable.version + " (" + s.routeTable.routes + " routes)";
          const reload = s.routeTable.lastReload;
          const reloadBadge = $("reload");
          reloadBadge.className = "badge " + (reload ? reload.outcome : "ok");
          reloadBadge.dataset.outcome = reload ? reload.outcome : "none";
          reloadBadge.textContent = reload ? reload.outcome : "loaded at start";
          $("reload-detail").textContent = reload ? reload.at + " · " + reload.reason : "";
          $("reload-error").textContent = reload && reload.error ? reload.error : "";
          const rows = s.routes.map((r) => {
            const upstreams = el("div", {});
            for (const u of r.upstreams) {
              upstreams.append(el("div", { "data-upstream-state": u.state },
                el("span", { class: "dot " + u.state }), u.url,
                u.state === "ejected" ? el("span", { class: "muted" }, " ejected " + fmt(u.ejectedForSeconds, 0, " s")) : ""));
            }
            let breaker = el("span", { class: "muted" }, "none");
            if (r.breaker) {
              const text = r.breaker.state === "open" ? "open · trial in " + fmt(r.breaker.secondsToTrial, 1, " s") : r.breaker.state.replace("_", "-");
              breaker = badge(r.breaker.state, text);
            }
            let limit = el("span", { class: "muted" }, "none");
            if (r.rateLimit) {
              limit = el("div", {}, r.rateLimit.perSecond + "/s, burst " + r.rateLimit.burst + " per " + r.rateLimit.key);
              for (const k of r.rateLimit.busiest) limit.append(el("div", { class: "muted" }, k.key + ": " + k.used + "/" + r.rateLimit.burst + " used"));
            }
            const m = r.lastMinute;
            const series = m.series;
            return el("tr", { "data-route": r.id },
              el("td", {}, el("strong", {}, r.id), el("div", { class: "muted" }, r.path + (r.public ? " · public" : ""))),
              el("td", {}, upstreams),
              el("td", { class: "breaker", "data-state": r.breaker ? r.breaker.state : "none" }, breaker),
              el("td", {}, limit),
              el("td", {}, sparkline(series.requests, "#3b6fd8", fmt(m.requestsPerSecond, 1))),
              el("td", {}, sparkline(series.errorRate, "#d64545", m.errorRate == null ? "–" : (m.errorRate * 100).toFixed(1) + "%")),
              el("td", {}, sparkline(series.p50Millis, "#1f9d55", fmt(m.p50Millis, 1, " ms"))),
              el("td", {}, sparkline(series.p99Millis, "#d69e2e", fmt(m.p99Millis, 1, " ms"))));
          });
          $("routes").replaceChildren(...rows);
          const auth = $("auth");
          if (!s.auth) { auth.replaceChildren(el("span", { class: "muted" }, "no auth section: every route is public")); return; }
          const items = [el("span", { class: "muted" }, "JWKS"), el("span", {}, s.auth.jwksURL),
            el("span", { class: "muted" }, "signing keys"), el("span", { id: "keys" }, s.auth.keys.length ? s.auth.keys.join(", ") : "none loaded yet")];
          const f = s.auth.revocationFeed;
          items.push(el("span", { class: "muted" }, "revocation feed"));
          items.push(f ? el("span", { id: "feed", "data-fresh": String(f.fresh) },
            badge(f.fresh ? "ok" : "open", f.fresh ? "fresh" : "stale"),
            " fetched " + (f.ageSeconds == null ? "never" : fmt(f.ageSeconds, 1, " s ago")) + " · " + f.revokedTokens + " revoked tokens, " +
            f.cutOffClients + " cut-off clients" + (f.failClosed ? " · fail-closed" : "") + (f.lastError ? " · " + f.lastError : ""))
            : el("span", { class: "muted" }, "not configured"));
          auth.replaceChildren(...items);
        }
        async function follow() {
          const live = $("live");
          for (;;) {
            let reader = null;
            try {
              const response = await fetch("status/events", { headers: token ? { Authorization: "Bearer " + token } : {}, cache: "no-store" });
              if (!response.ok) throw new Error("HTTP " + response.status);
              live.dataset.state = "live";
              live.textContent = "live";
              reader = response.body.getReader();
              const decoder = new TextDecoder();
              let buffered = "";
              for (;;) {
                const { value, done } = await reader.read();
                if (done) break;
                buffered += decoder.decode(value, { stream: true });
                let end;
                while ((end = buffered.indexOf("\n\n")) >= 0) {
                  const message = buffered.slice(0, end);
                  buffered = buffered.slice(end + 2);
                  const data = message.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
                  if (data) render(JSON.parse(data));
                }
              }
              throw new Error("the stream ended");
            } catch (error) {
              // Close the stream that failed (a bad document, say): one stream at a time.
              if (reader) reader.cancel().catch(() => {});
              live.dataset.state = "lost";
              live.textContent = "reconnecting (" + error.message + ")";
              await new Promise((resolve) => setTimeout(resolve, 1000));
            }
          }
        }
        follow();
        </script>
        </body>
        </html>
        """#
}
