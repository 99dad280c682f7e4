"""`dist/kolla-size/index.html`: a self-contained page (no network) with the image tree as an icicle
(parents above children, each image as wide as the own bytes of it and its descendants, coloured by
install type) and the report's tables. The page draws from the report embedded in it."""

from __future__ import annotations

import json

_SCRIPT = r"""
const report = JSON.parse(document.getElementById("report").textContent);
const colours = {infra: "#7a9cc6", rootfs: "#5b7fa8", binary: "#e39b4c", source: "#6cb36c"};
const byName = Object.fromEntries(report.images.map(r => [r.name, {...r, children: []}]));
const roots = [];
for (const node of Object.values(byName)) {
  (byName[node.parent] ? byName[node.parent].children : roots).push(node);
}
function weight(node) { node.weight = node.own + node.children.reduce((s, c) => s + weight(c), 0); return node.weight; }
const total = roots.reduce((s, r) => s + weight(r), 0) || 1;
const width = 1200, rowHeight = 46, svgNS = "http://www.w3.org/2000/svg";
const svg = document.getElementById("tree");
let depth = 0;
function place(node, x, level) {
  depth = Math.max(depth, level + 1);
  const w = width * node.weight / total;
  const g = document.createElementNS(svgNS, "g");
  g.setAttribute("class", "image");
  g.setAttribute("data-name", node.name);
  const rect = document.createElementNS(svgNS, "rect");
  Object.entries({x, y: level * rowHeight, width: Math.max(w - 1, 1), height: rowHeight - 2,
                  fill: colours[node.install_type] || "#aaa"}).forEach(([k, v]) => rect.setAttribute(k, v));
  const title = document.createElementNS(svgNS, "title");
  title.textContent = `${node.name} (${node.install_type}): ${mib(node.total)} MiB, own ${mib(node.own)} MiB`;
  rect.appendChild(title);
  g.appendChild(rect);
  const text = document.createElementNS(svgNS, "text");
  text.setAttribute("x", x + 3); text.setAttribute("y", level * rowHeight + 18);
  text.textContent = w > 60 ? node.name.split("/").pop() : "";
  g.appendChild(text);
  svg.appendChild(g);
  let cx = x + width * node.own / total;
  for (const child of node.children) { place(child, cx, level + 1); cx += width * child.weight / total; }
}
function mib(n) { return (n / 1048576).toFixed(1); }
let x = 0;
for (const root of roots) { place(root, x, 0); x += width * root.weight / total; }
svg.setAttribute("height", depth * rowHeight);
const body = document.getElementById("images");
for (const r of [...report.images].sort((a, b) => b.total - a.total)) {
  const row = body.insertRow();
  row.setAttribute("data-name", r.name);
  for (const cell of [r.name, r.install_type, mib(r.total), mib(r.own), r.compressed ? mib(r.compressed) : "-",
                      r.steps.map(s => `${mib(s.size)} MiB ${s.step}`).join("\n")]) {
    row.insertCell().textContent = cell;
  }
}
document.getElementById("totals").textContent =
  `${report.images.length} images: ${mib(report.sum_of_sizes)} MiB pulled one by one, ${mib(report.unique)} MiB ` +
  `unique; per-type copies of the infra images would add ${mib(report.infra_per_type_extra)} MiB.`;
const tips = document.getElementById("suggestions");
for (const s of [...(report.suggestions || []), ...(report.file_suggestions || [])]) { tips.appendChild(document.createElement("li")).textContent = s.text; }
document.body.setAttribute("data-rendered", "yes");
"""

_STYLE = """
body { font-family: sans-serif; margin: 1.5em; }
svg text { font-size: 12px; pointer-events: none; }
table { border-collapse: collapse; margin-top: 1em; }
td, th { border: 1px solid #ccc; padding: 2px 6px; vertical-align: top; white-space: pre-wrap; font-size: 13px; }
"""


def page(report: dict) -> str:
    # A script element's text is not HTML-decoded: only a closing tag could end it early.
    data = json.dumps(report, sort_keys=True).replace("</", "<\\/")
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>kolla-size</title><style>{_STYLE}</style></head>
<body>
<h1>Image sizes</h1>
<p>Each image is as wide as the bytes of its own layers and its descendants'; parents above children.
Blue: infra, orange: binary, green: source.</p>
<svg id="tree" xmlns="http://www.w3.org/2000/svg" width="1200"></svg>
<p id="totals"></p>
<h2>Where to move shared content</h2>
<ul id="suggestions"></ul>
<h2>Images</h2>
<table><thead><tr><th>image</th><th>type</th><th>total MiB</th><th>own MiB</th><th>gzip MiB</th>
<th>own layers (step)</th></tr></thead><tbody id="images"></tbody></table>
<script type="application/json" id="report">{data}</script>
<script>{_SCRIPT}</script>
</body></html>
"""
