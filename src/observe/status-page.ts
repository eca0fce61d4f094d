/** The `/` status page: plain HTML and CSS that fetches /status every 2 s. No framework. */
export const statusPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>consulate</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #1d2330; background: #f6f7f9; }
  h1 { font-size: 1.4rem; margin: 0 0 1rem; }
  h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
  table { border-collapse: collapse; width: 100%; background: #fff; }
  th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #e3e6ea; vertical-align: top; }
  th { background: #eef0f3; font-weight: 600; }
  .ok { color: #17803d; font-weight: 600; } .bad { color: #b42318; font-weight: 600; }
  code { font-size: 12px; }
</style>
</head>
<body>
<h1>consulate <span id="health"></span></h1>
<div id="consul"></div>
<h2>Templates</h2>
<table id="templates"><thead><tr><th>source</th><th>destination</th><th>last render</th><th>last error</th><th>HAProxy runtime</th><th>dependencies (index, instances)</th></tr></thead><tbody></tbody></table>
<h2>Left out of the files</h2>
<p>Catalog values refused for their place in a file (the rest of the file keeps updating), and services the catalog does not list or hides from this token.</p>
<table id="refused"><thead><tr><th>destination</th><th>where</th><th>field</th><th>reason</th></tr></thead><tbody></tbody></table>
<h2>Registrator</h2>
<div id="registrator-problem" class="bad"></div>
<table id="registrator"><thead><tr><th>container</th><th>services</th></tr></thead><tbody></tbody></table>
<h2>Recent events</h2>
<table id="events"><thead><tr><th>time</th><th>level</th><th>component</th><th>event</th></tr></thead><tbody></tbody></table>
<script>
const esc = (s) => String(s ?? "").replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
async function refresh() {
  const [status, health] = await Promise.all([fetch("/status").then((r) => r.json()), fetch("/healthz").then(async (r) => ({ ok: r.ok, text: await r.text() }))]);
  document.getElementById("health").innerHTML = health.ok ? '<span class="ok">healthy</span>' : '<span class="bad">' + esc(health.text) + "</span>";
  document.getElementById("consul").textContent = "Consul " + status.consul.address + " — " + (status.consul.reachable === false ? "unreachable" : "reachable") + ", " + status.consul.connections + " connections";
  document.querySelector("#templates tbody").innerHTML = status.templates.map((t) =>
    "<tr><td><code>" + esc(t.source) + "</code></td><td><code>" + esc(t.destination) + "</code></td><td>" + esc(t.lastRenderAt ?? (t.rendered ? "unchanged" : "waiting")) +
    "</td><td>" + (t.lastError ? '<span class="bad">' + esc(t.lastError) + "</span>" : "") + "</td><td>" +
    (t.runtime ? esc(t.runtime.at) + " " + (t.runtime.result === "applied" ? '<span class="ok">' + t.runtime.operations + " applied, no reload</span>" : "reloaded: " + esc(t.runtime.reason)) : "") + "</td><td>" +
    t.dependencies.map((d) => esc(d.description) + " (" + d.index + (d.instances === undefined ? "" : ", " + d.instances) + ")").join("<br>") + "</td></tr>").join("");
  document.querySelector("#refused tbody").innerHTML = status.templates.flatMap((t) => [
    ...t.refused.map((r) => "<tr><td><code>" + esc(t.destination) + "</code></td><td>" + esc(r.where) + "</td><td>" + esc(r.field) + '</td><td class="bad">' + esc(r.reason) + "</td></tr>"),
    ...t.notInCatalog.map((d) => "<tr><td><code>" + esc(t.destination) + "</code></td><td>" + esc(d) + '</td><td></td><td class="bad">not in the catalog, or hidden from this token</td></tr>'),
  ]).join("");
  document.getElementById("registrator-problem").textContent = status.registratorProblem ?? "";
  document.querySelector("#registrator tbody").innerHTML = (status.registrator ?? []).map((c) =>
    "<tr><td><code>" + esc(c.container.slice(0, 12)) + "</code></td><td>" + c.services.map((s) => esc(s.Name + " " + s.ID + " → " + (s.Address || "agent") + ":" + s.Port)).join("<br>") + "</td></tr>").join("");
  document.querySelector("#events tbody").innerHTML = status.events.map((e) =>
    "<tr><td>" + esc(e.time) + "</td><td" + (e.level === "info" ? "" : ' class="bad"') + ">" + esc(e.level) + "</td><td>" + esc(e.component) + "</td><td>" + esc(e.message) +
    " <code>" + esc(Object.entries(e.fields).map(([k, v]) => k + "=" + (typeof v === "string" ? v : JSON.stringify(v))).join(" ")) + "</code></td></tr>").join("");
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
`;
