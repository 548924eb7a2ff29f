// btt-chain explorer: one page, plain JavaScript, no build step. It talks JSON-RPC over one WebSocket to the
// node named in the URL field (default: the node that served it), follows new and finalized heads by
// subscription and redraws the open page at most once a second. Amounts are BigInt base units throughout, each
// shown in its own unit as the node's btt_explorerUnits names it (BTT, asset fractions, work credit, points).
"use strict";

const state = { ws: null, url: "", nextId: 1, pending: new Map(), subs: new Map(), decimals: 18, symbol: "BTT",
  prefix: 42, head: null, headTime: null, finalized: null, route: null, refreshing: false, lastRefresh: 0,
  queued: false, blocks: new Map(), generation: 0, events: [], chainName: null, genesis: null,
  units: { events: {}, calls: {}, houses: {}, descriptions: {} }, tokens: new Map(), params: null };
const LIVE_EVENTS = 15;

// ---------------------------------------------------------------------------------------------- RPC
function defaultUrl() {
  const saved = new URLSearchParams(location.search).get("node");
  if (saved) return saved;
  return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/";
}

function wsUrl(url) {
  url = url.trim();
  if (url.startsWith("http://")) return "ws://" + url.slice(7);
  if (url.startsWith("https://")) return "wss://" + url.slice(8);
  if (!/^wss?:\/\//.test(url)) return "ws://" + url;
  return url;
}

function setStatus(text, cls) {
  const el = document.getElementById("status");
  el.textContent = text;
  el.className = "status " + (cls || "");
}

function connect(url) {
  if (state.ws) { state.ws.onclose = null; state.ws.close(); }
  for (const [, p] of state.pending) p.reject(new Error("reconnected"));
  state.pending.clear();
  state.subs.clear();
  state.blocks.clear();
  state.events = [];
  state.tokens.clear();
  state.params = null;
  state.url = url;
  showChain(null, null);
  state.generation += 1;
  const generation = state.generation;
  setStatus("connecting to " + url);
  let ws;
  try { ws = new WebSocket(wsUrl(url)); } catch (e) { setStatus("bad node URL: " + e.message, "bad"); return; }
  state.ws = ws;
  ws.onopen = async () => {
    setStatus("connected to " + url, "ok");
    try {
      const [props, chainName, genesis, units] = await Promise.all([rpc("system_properties"), rpc("system_chain"),
        rpc("chain_getBlockHash", [0]), rpc("btt_explorerUnits")]);
      state.decimals = props.tokenDecimals; state.symbol = props.tokenSymbol; state.prefix = props.ss58Format;
      state.units = units;
      showChain(chainName, genesis);
      await subscribe("chain_subscribeNewHeads", "chain_newHead", onNewHead);
      await subscribe("chain_subscribeFinalizedHeads", "chain_finalizedHead", onFinalized);
      await subscribe("btt_subscribeEvents", "btt_newEvents", onEvents);
      const header = await rpc("chain_getHeader");
      onNewHead(header);
      const fin = await rpc("chain_getHeader", [await rpc("chain_getFinalizedHead")]);
      if (fin) onFinalized(fin);
    } catch (e) { setStatus("connected, but: " + e.message, "bad"); }
    render();
  };
  ws.onmessage = (msg) => {
    const data = JSON.parse(msg.data);
    if (data.id !== undefined && state.pending.has(data.id)) {
      const p = state.pending.get(data.id);
      state.pending.delete(data.id);
      if (data.error) p.reject(new Error(data.error.message + (data.error.data ? ": " + data.error.data : "")));
      else p.resolve(data.result);
    } else if (data.params && state.subs.has(data.params.subscription)) {
      state.subs.get(data.params.subscription)(data.params.result);
    }
  };
  ws.onclose = () => {
    if (generation !== state.generation) return;
    setStatus("disconnected from " + url + " (retrying)", "bad");
    for (const [, p] of state.pending) p.reject(new Error("connection closed"));
    state.pending.clear();
    setTimeout(() => { if (generation === state.generation) connect(url); }, 2000);
  };
}

function showChain(name, genesis) {
  // which chain this page follows: a wallet author checks the genesis hash before trusting any figure
  state.chainName = name; state.genesis = genesis;
  document.title = name ? `${name} · btt-chain explorer` : "btt-chain explorer";
  document.getElementById("chain-name").textContent = name || "-";
  const g = document.getElementById("genesis-hash");
  g.textContent = genesis ? short(genesis) : "-";
  g.title = genesis || "";
  g.dataset.hash = genesis || "";
  const copy = document.getElementById("genesis-copy");
  copy.dataset.copy = genesis || "";
  copy.hidden = !genesis;
}

function rpc(method, params) {
  return new Promise((resolve, reject) => {
    if (!state.ws || state.ws.readyState !== WebSocket.OPEN) { reject(new Error("not connected")); return; }
    const id = state.nextId++;
    state.pending.set(id, { resolve, reject });
    state.ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params: params || [] }));
  });
}

async function subscribe(method, _notification, handler) {
  const id = await rpc(method);
  state.subs.set(id, handler);
}

// A header's time (ms) from its btt0 pre-runtime digest item (Substrate's header JSON carries the digest items as
// SCALE hex): 0x06 "btt0" Compact(80) then slot u64 LE, timestamp u64 LE, receipts root, reveal.
const BTT0_ITEM = "0x06627474304101";
function headerTime(header) {
  const item = ((header.digest && header.digest.logs) || []).find((log) => log.startsWith(BTT0_ITEM));
  if (!item) return null;
  const le = item.slice(BTT0_ITEM.length + 16, BTT0_ITEM.length + 32);
  return Number(BigInt("0x" + le.match(/../g).reverse().join("")));
}

function onNewHead(header) {
  if (!header) return;
  const n = parseInt(header.number, 16);
  if (state.head === null || n >= state.head) {
    state.head = n;
    state.headTime = headerTime(header);
  }
  document.getElementById("head").textContent = fmtInt(state.head);
  scheduleRefresh();
}

function onEvents(note) {
  // keep only the newest few: at 1,000 blocks a minute the feed must not grow without bound
  if (!note) return;
  const fresh = note.events.filter((e) => !["fees.FeesDistributed", "system.ExtrinsicSuccess", "transaction_payment.TransactionFeePaid"].includes(`${e.module}.${e.event}`))
    .map((e) => ({ block: note.number, ...e }));
  state.events = fresh.reverse().concat(state.events).slice(0, LIVE_EVENTS);
}

function onFinalized(header) {
  if (!header) return;
  state.finalized = parseInt(header.number, 16);
  document.getElementById("finalized").textContent = fmtInt(state.finalized);
}

function scheduleRefresh() {
  // at 1,000 blocks a minute a redraw per head would swamp the page: one at a time, at most once per page
  // interval (1 s for the chain, a few seconds for the pages that read back many blocks)
  if (state.refreshing || state.queued) return;
  const page = PAGES[state.route && state.route.page];
  const wait = Math.max(0, ((page && page.interval) || 1000) - (Date.now() - state.lastRefresh));
  state.queued = true;
  setTimeout(async () => {
    state.queued = false;
    const page = PAGES[state.route && state.route.page];
    if (page && page.live) await refresh(false);
  }, wait);
}

// ------------------------------------------------------------------------------------------- format
function fmtInt(n) { return n === null || n === undefined ? "-" : Number(n).toLocaleString(); }

function fmtAmount(base, decimals) {
  // exact decimal rendering of a base-unit integer string: BigInt, never floats
  decimals = decimals === undefined ? state.decimals : decimals;
  let v = BigInt(base);
  const neg = v < 0n; if (neg) v = -v;
  const unit = 10n ** BigInt(decimals);
  const whole = (v / unit).toLocaleString("en-US");
  let frac = (v % unit).toString().padStart(decimals, "0").replace(/0+$/, "");
  return (neg ? "-" : "") + whole + (frac ? "." + frac : "");
}

function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

function amt(base, id) {
  // BTT: base units formatted with the chain's decimals (system_properties), exact
  if (base === null || base === undefined) return "-";
  return `<span class="amt"${id ? ` id="${id}"` : ""} data-base="${esc(base)}" data-unit="btt" title="${esc(base)} base units">` +
    `${esc(fmtAmount(base))} ${esc(state.symbol)}</span>`;
}

function fmtWhole(v) { return BigInt(v).toLocaleString("en-US"); }

function qtySpan(base, text, unit, title, id) {
  return `<span class="qty"${id ? ` id="${id}"` : ""} data-base="${esc(base)}" data-unit="${esc(unit)}" title="${esc(title)}">${esc(text)}</span>`;
}

// Quantities that are not BTT, each in its own unit (never formatted with the token's decimals):
function credit(v, id) {
  if (v === null || v === undefined) return "-";
  return qtySpan(v, fmtWhole(v) + " credit", "credit", "work credit: verified multiply-accumulates, not BTT", id);
}

function points(v, id) {
  if (v === null || v === undefined) return "-";
  return qtySpan(v, fmtWhole(v) + (String(v) === "1" ? " point" : " points"), "points", "incentive points, not BTT", id);
}

function votes(v) { return qtySpan(v, fmtWhole(v) + (String(v) === "1" ? " vote" : " votes"), "votes", "one vote per representative"); }

function tokenAmount(base, assetId, id) {
  // fractions of an asset's token: that token's decimals and symbol
  if (base === null || base === undefined) return "-";
  const t = state.tokens.get(String(assetId));
  if (!t) return qtySpan(base, `${fmtWhole(base)} fractions of asset #${assetId}`, "fractions", `${base} base units of asset #${assetId}'s token`, id);
  return qtySpan(base, `${fmtAmount(base, t.decimals)} ${t.symbol}`, "fractions",
    `${base} base units of ${t.symbol} (asset #${assetId}'s token, ${t.decimals} decimals)`, id);
}

function paramValue(v, name) {
  const unit = state.params && state.params.get(name);
  if (unit === "btt") return amt(v);
  if (unit === "bps") return qtySpan(v, pct(v, 10000n), "bps", `${v} bps`);
  return qtySpan(v, fmtWhole(v), unit || "count", `${name || "parameter"}${unit ? " (" + unit + ")" : ""}`);
}

function qty(v, unit, ctx) {
  // one amount in the unit btt_explorerUnits gives it; ctx: the event or the call's arguments, which name the asset
  // or the parameter a unit refers to
  if (Array.isArray(v)) return "[" + v.map((x) => qty(x, unit, ctx)).join(", ") + "]";
  if (v === null || v === undefined || !/^\d+$/.test(String(v))) return esc(typeof v === "object" ? JSON.stringify(v) : v);
  const [kind, field] = String(unit).split(":");
  switch (kind) {
    case "btt": return amt(v);
    case "credit": return credit(v);
    case "points": return points(v);
    case "votes": return votes(v);
    case "bps": return qtySpan(v, pct(v, 10000n), "bps", `${v} bps`);
    case "ppm": return qtySpan(v, pct(v, 1000000n, 4), "ppm", `${v} parts per million`);
    case "fractions": return tokenAmount(v, ctx && ctx[field]);
    case "param": return paramValue(v, ctx && ctx[field]);
    default: return esc(v);
  }
}

function houseQty(v, house) { return qty(v, state.units.houses[house] || "btt", {}); }

async function prepareUnits(events, calls) {
  // fetch what the units of these events and call arguments refer to (each asset's token, the parameters' units)
  // before a page draws them, so that drawing stays synchronous
  const assets = new Set();
  let params = false;
  const look = (table, obj) => {
    for (const unit of Object.values(table || {})) {
      const [kind, ref] = unit.split(":");
      if (kind === "fractions" && obj[ref] !== undefined && obj[ref] !== null && !state.tokens.has(String(obj[ref]))) assets.add(String(obj[ref]));
      if (kind === "param") params = true;
    }
  };
  for (const e of events || []) look(state.units.events[`${e.module}.${e.event}`], e);
  for (const c of calls || []) if (c && c.name) look(state.units.calls[c.name], c.args || {});
  await Promise.all([...assets].map(async (id) => {
    const a = /^\d+$/.test(id) ? await rpc("btt_asset", [Number(id)]) : null;
    state.tokens.set(id, a && a.token ? { symbol: a.token.symbol, decimals: a.token.decimals } : null);
  }));
  if (params && !state.params) state.params = new Map((await rpc("btt_params")).map((x) => [x.name, x.unit]));
}

function callArgs(call) {
  // a call's arguments, each amount in its unit
  const units = state.units.calls[call.name] || {};
  return Object.entries(call.args || {}).map(([k, v]) => [k, units[k] ? qty(v, units[k], call.args) : fieldValue(v)]);
}

function short(s) { s = String(s); return s.length > 16 ? s.slice(0, 8) + "…" + s.slice(-6) : s; }

function addr(a) {
  if (!a) return "-";
  return `<span class="addr"><a class="mono" href="#/account/${esc(a)}" title="${esc(a)}">${esc(short(a))}</a>` +
    `<button class="copy" data-copy="${esc(a)}" title="copy">copy</button></span>`;
}

function hashLink(kind, h) {
  return `<span class="addr"><a class="hash" href="#/${kind}/${esc(h)}" title="${esc(h)}">${esc(short(h))}</a>` +
    `<button class="copy" data-copy="${esc(h)}" title="copy">copy</button></span>`;
}

function time(ms) { return ms ? new Date(Number(ms)).toLocaleString() : "-"; }

function duration(ms) {
  ms = Math.max(0, Number(ms));
  const s = Math.round(ms / 1000);
  if (s < 120) return s + " s";
  if (s < 7200) return Math.round(s / 60) + " min";
  if (s < 172800) return Math.round(s / 3600) + " h";
  return Math.round(s / 86400) + " days";
}

function pct(num, den, digits) {
  // an exact ratio of BigInts as a percentage string
  num = BigInt(num); den = BigInt(den);
  if (den === 0n) return "-";
  digits = digits === undefined ? 2 : digits;
  const scale = 10n ** BigInt(digits);
  const v = (num * 100n * scale) / den;
  const whole = v / scale, frac = (v % scale).toString().padStart(digits, "0");
  return `${whole}${digits ? "." + frac : ""}%`;
}

function fraction(s) {
  // an exact share as the node writes it ("3/4", "0.5", "1") -> [num, den] as BigInt
  s = String(s);
  if (s.includes("/")) { const [a, b] = s.split("/"); return [BigInt(a), BigInt(b)]; }
  const [whole, frac = ""] = s.split(".");
  return [BigInt(whole + frac), 10n ** BigInt(frac.length)];
}

function ratioPct(s) { const [n, d] = fraction(s); return pct(n, d); }

function ratioNumber(s) { const [n, d] = fraction(s); return d === 0n ? 0 : Number((n * 1000000n) / d) / 1000000; }

function outcome(x) {
  if (x.success === null || x.success === undefined) return `<span class="muted">-</span>`;
  return x.success ? `<span class="ok">success</span>` : `<span class="bad">failed${x.error ? ": " + esc(x.error) : ""}</span>`;
}

function table(headers, rows, id, cls) {
  const head = headers.map((h) => `<th${h.startsWith("#") ? ' class="num"' : ""}>${esc(h.replace(/^#/, ""))}</th>`).join("");
  const body = rows.length ? rows.join("") : `<tr><td colspan="${headers.length}" class="muted">none</td></tr>`;
  // a wide table scrolls inside its own box, never the page (a phone is 390 px wide); class "stack": its rows
  // stack on a phone instead (style.css), for cells that must be read whole
  return `<div class="table-wrap"><table${id ? ` id="${id}"` : ""}${cls ? ` class="${cls}"` : ""}><thead><tr>${head}</tr></thead>` +
    `<tbody>${body}</tbody></table></div>`;
}

function card(k, v, id) { return `<div class="card"><div class="k">${esc(k)}</div><div class="v"${id ? ` id="${id}"` : ""}>${v}</div></div>`; }

function eventText(e) {
  // each field in its unit (btt_explorerUnits); call prepareUnits(events) first so asset tokens are known
  const units = state.units.events[`${e.module}.${e.event}`] || {};
  const fields = Object.entries(e).filter(([k]) => !["phase", "module", "event", "block"].includes(k))
    .map(([k, v]) => `<span class="field" data-field="${esc(k)}">${esc(k)}=${units[k] ? qty(v, units[k], e) : fieldValue(v)}</span>`);
  return `<span class="event"><b>${esc(e.module)}.${esc(e.event)}</b> ${fields.join(" ")}</span>`;
}

function fieldValue(v) {
  // an account as a link, a 32-byte hash shortened (the whole in its title and copy button), the rest as written
  if (typeof v === "string" && /^[1-9A-HJ-NP-Za-km-z]{46,50}$/.test(v)) return addr(v);
  if (typeof v === "string" && /^0x[0-9a-f]{64}$/.test(v)) {
    return `<span class="addr"><span class="hash" title="${esc(v)}">${esc(short(v))}</span><button class="copy" data-copy="${esc(v)}" title="copy">copy</button></span>`;
  }
  return `<span class="mono">${esc(typeof v === "object" ? JSON.stringify(v) : v)}</span>`;
}

// ------------------------------------------------------------------------------------------- charts
// Plain SVG: a line chart and a bar chart are all the pages need, so no chart library is shipped.
const COLORS = ["#1565c0", "#ef6c00", "#2e7d32", "#6a1b9a", "#c62828", "#00838f", "#5d4037", "#9e9d24"];

function lineChart(series, opts) {
  // series: [{name, points: [[x, y], ...], color?, dashed?}], x and y numbers; opts: {xLabel, yLabel, marker, xFmt, yFmt}
  const W = 640, H = 240, L = 70, R = 12, T = 12, B = 32;
  const xs = series.flatMap((s) => s.points.map((p) => p[0])).concat(opts.marker !== undefined ? [opts.marker] : []);
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  if (!xs.length || !ys.length) return `<p class="muted">no data yet</p>`;
  const x0 = Math.min(...xs), x1 = Math.max(...xs) === x0 ? x0 + 1 : Math.max(...xs);
  const y0 = 0, y1 = Math.max(...ys) > 0 ? Math.max(...ys) : 1;
  const X = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const Y = (y) => H - B - ((y - y0) / (y1 - y0)) * (H - T - B);
  const xf = opts.xFmt || ((v) => String(Math.round(v))), yf = opts.yFmt || ((v) => String(Math.round(v)));
  let out = `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(opts.title || "chart")}">`;
  for (let i = 0; i <= 4; i++) {
    const y = y0 + ((y1 - y0) * i) / 4;
    out += `<line x1="${L}" x2="${W - R}" y1="${Y(y)}" y2="${Y(y)}" stroke="#eef1f5"/>`;
    out += `<text x="${L - 6}" y="${Y(y) + 4}" text-anchor="end">${esc(yf(y))}</text>`;
  }
  for (let i = 0; i <= 4; i++) {
    const x = x0 + ((x1 - x0) * i) / 4;
    out += `<text x="${X(x)}" y="${H - 12}" text-anchor="middle">${esc(xf(x))}</text>`;
  }
  series.forEach((s, i) => {
    const color = s.color || COLORS[i % COLORS.length];
    const d = s.points.map((p, j) => `${j ? "L" : "M"}${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join("");
    out += `<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 4"' : ""}/>`;
    if (s.dots) s.points.forEach((p) => { out += `<circle cx="${X(p[0])}" cy="${Y(p[1])}" r="3" fill="${color}"/>`; });
  });
  if (opts.marker !== undefined) {
    out += `<line x1="${X(opts.marker)}" x2="${X(opts.marker)}" y1="${T}" y2="${H - B}" stroke="#c62828" stroke-dasharray="3 3"/>`;
    out += `<text x="${X(opts.marker) + 4}" y="${T + 10}" fill="#c62828">${esc(opts.markerLabel || "now")}</text>`;
  }
  out += `</svg>`;
  return legend(series) + out;
}

function barChart(groups, seriesNames, opts) {
  // groups: [{label, values: [number, ...]}] with one value per series name (0..1 shares)
  const W = 640, H = 220, L = 40, R = 12, T = 12, B = 40;
  if (!groups.length) return `<p class="muted">no data yet</p>`;
  const gw = (W - L - R) / groups.length, bw = Math.max(4, (gw - 12) / seriesNames.length);
  const max = opts && opts.max ? opts.max : Math.max(1e-9, ...groups.flatMap((g) => g.values));
  const Y = (v) => H - B - (v / max) * (H - T - B);
  let out = `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc((opts && opts.title) || "chart")}">`;
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    out += `<line x1="${L}" x2="${W - R}" y1="${Y(v)}" y2="${Y(v)}" stroke="#eef1f5"/>`;
    out += `<text x="${L - 4}" y="${Y(v) + 4}" text-anchor="end">${Math.round((v * 100))}%</text>`;
  }
  groups.forEach((g, gi) => {
    g.values.forEach((v, si) => {
      const x = L + gi * gw + 6 + si * bw;
      out += `<rect x="${x}" y="${Y(v)}" width="${bw - 2}" height="${H - B - Y(v)}" fill="${COLORS[si % COLORS.length]}"><title>${esc(seriesNames[si])}: ${(v * 100).toFixed(2)}%</title></rect>`;
    });
    out += `<text x="${L + gi * gw + gw / 2}" y="${H - 22}" text-anchor="middle">${esc(g.label)}</text>`;
  });
  out += `</svg>`;
  return legend(seriesNames.map((name) => ({ name }))) + out;
}

function legend(series) {
  return `<div class="legend">${series.map((s, i) => `<span><i style="background:${s.color || COLORS[i % COLORS.length]}"></i>${esc(s.name)}</span>`).join("")}</div>`;
}

function btt(base) { return Number(BigInt(base) / 10n ** BigInt(state.decimals)); } // chart scale only, never shown as an amount

function compactBtt(v) {
  if (v >= 1e6) return (v / 1e6).toFixed(v >= 1e7 ? 0 : 1) + "M";
  if (v >= 1e3) return (v / 1e3).toFixed(v >= 1e4 ? 0 : 1) + "k";
  return String(Math.round(v));
}

// ------------------------------------------------------------------------------------------- pages
async function blockDetail(ref, offset = 0) {
  // blocks never change once stored: keep the pages already decoded (the node sends a block's extrinsics a page
  // at a time: nextOffset is where the next page starts)
  const key = `${ref}/${offset}`;
  if (state.blocks.has(key)) return state.blocks.get(key);
  const block = await rpc("btt_explorerBlock", [ref, offset]);
  if (block && block.hash.startsWith("0x") && String(ref).startsWith("0x")) {
    if (state.blocks.size > 500) state.blocks.clear();
    state.blocks.set(key, block);
  }
  return block;
}

function upgradeCards(u) {
  // btt_upgrade at the head: the spec running, a scheduled upgrade with its block and the blocks to go (and a warning
  // when the node this page talks to cannot run it: it will stop there), migrations while they span blocks
  let out = card("spec", u.nextBlockSpec === u.specVersion ? esc(u.specVersion) :
    `${esc(u.specVersion)}, next block ${esc(u.nextBlockSpec)}`, "chain-spec");
  const s = u.scheduled;
  if (s) {
    const warn = s.supported ? "" : ` <span class="bad">this node cannot run spec ${esc(s.spec)}: it stops there</span>`;
    out += card("upgrade scheduled", `spec ${esc(s.spec)} at <a href="#/block/${s.at}">#${fmtInt(s.at)}</a> ` +
      `(${fmtInt(s.blocksToGo)} blocks to go)${warn}`, "chain-upgrade");
  }
  const m = u.migration;
  if (m) {
    out += card("migrating", `to spec ${esc(m.spec)} since #${fmtInt(m.since)}: migration ${esc(m.index)}, ` +
      `${fmtInt(m.items)} items (transactions wait)`, "chain-migration");
  }
  return out;
}

const PAGES = {};
const PAGE_SIZE = 25; // extrinsics per block page: the node's default for btt_explorerBlock

PAGES.chain = {
  live: true,
  async render(args) {
    const from = args[0] !== undefined && args[0] !== "" ? Number(args[0]) : null;
    const [page, upgrade] = await Promise.all([rpc("btt_explorerBlocks", [from, 20]), rpc("btt_upgrade")]);
    const blocks = page.blocks;
    let blockTime = "-";
    if (blocks.length > 1) {
      const dt = (blocks[0].timestamp - blocks[blocks.length - 1].timestamp) / (blocks[0].number - blocks[blocks.length - 1].number);
      blockTime = (dt / 1000).toFixed(2) + " s";
    }
    const withXts = blocks.filter((b) => b.extrinsics > 0).slice(0, 5);
    const details = await Promise.all(withXts.map((b) => blockDetail(b.hash)));
    const xts = details.filter(Boolean).flatMap((b) => b.extrinsicList).slice(0, 12);
    await prepareUnits(state.events);
    const rows = blocks.map((b) => `<tr data-number="${b.number}"><td class="num"><a href="#/block/${b.number}">${fmtInt(b.number)}</a></td>` +
      `<td>${hashLink("block", b.hash)}</td><td>${addr(b.author)}</td><td class="num">${b.extrinsics}</td>` +
      `<td class="num">${b.events ?? "-"}</td><td class="num">${fmtInt(b.size)} B</td><td>${time(b.timestamp)}</td>` +
      `<td>${b.finalized ? '<span class="ok">finalized</span>' : '<span class="muted">unfinalized</span>'}</td></tr>`);
    const xrows = xts.map((x) => `<tr class="xt" data-hash="${esc(x.hash)}"><td>${hashLink("extrinsic", x.hash)}</td>` +
      `<td><a href="#/block/${x.blockNumber}">${fmtInt(x.blockNumber)}</a></td><td class="mono">${esc(x.call.name || "?")}</td>` +
      `<td>${addr(x.signer)}</td><td class="num">${amt(x.fee)}</td><td>${outcome(x)}</td></tr>`);
    return `<h1>Chain</h1><div class="cards">` +
      card("head", fmtInt(page.head), "chain-head") + card("finalized", fmtInt(page.finalized), "chain-finalized") +
      card("finality lag", fmtInt(page.head - page.finalized) + " blocks") + card("block time", blockTime, "block-time") +
      upgradeCards(upgrade) + `</div><h2>Latest extrinsics</h2>` + table(["hash", "block", "call", "signer", "#fee", "outcome"], xrows, "latest-extrinsics") +
      `<h2>Blocks</h2>` + table(["#number", "hash", "author", "#extrinsics", "#events", "#size", "time", ""], rows, "blocks") +
      `<div class="pager">${from !== null ? `<a href="#/chain">newest</a>` : ""}` +
      `${page.next !== null ? `<a href="#/chain/${page.next}">older</a>` : ""}</div>` +
      `<h2>Live events <span class="muted">(by subscription, newest first)</span></h2>` +
      table(["block", "phase", "event"], state.events.map((e) => `<tr><td><a href="#/block/${e.block}">${fmtInt(e.block)}</a></td>` +
        `<td>${esc(e.phase)}</td><td class="events">${eventText(e)}</td></tr>`), "live-events");
  },
};

PAGES.block = {
  live: false,
  async render(args) {
    const ref = /^\d+$/.test(args[0]) ? Number(args[0]) : args[0];
    const offset = /^\d+$/.test(args[1] || "") ? Number(args[1]) : 0;
    const b = await blockDetail(ref, offset);
    if (!b) return `<h1>Block</h1><div class="error">no block ${esc(args[0])} on this node</div>`;
    await prepareUnits(b.extrinsicList.flatMap((x) => x.events).concat(b.blockEvents));
    const shown = b.extrinsicList.length;
    const first = shown ? b.extrinsicList[0].index : offset;
    const xtPager = `<div class="pager" id="extrinsic-pager"><span class="muted">extrinsics ${shown ? fmtInt(first + 1) : 0}` +
      `${shown ? " to " + fmtInt(first + shown) : ""} of ${fmtInt(b.extrinsics)}</span>` +
      `${offset > 0 ? `<a id="extrinsics-newer" href="#/block/${b.number}/${Math.max(0, offset - PAGE_SIZE)}">previous page</a>` : ""}` +
      `${b.nextOffset !== null ? `<a id="extrinsics-more" href="#/block/${b.number}/${b.nextOffset}">next page</a>` : ""}</div>`;
    const xrows = b.extrinsicList.map((x) => `<tr><td class="num">${x.index}</td><td>${hashLink("extrinsic", x.hash)}</td>` +
      `<td class="mono">${esc(x.call.name || "?")}</td><td>${addr(x.signer)}</td><td class="num">${amt(x.fee)}</td><td>${outcome(x)}</td>` +
      `<td class="events">${x.events.map(eventText).join("<br>")}${x.eventCount > x.events.length ? `<br><span class="muted">and ${fmtInt(x.eventCount - x.events.length)} more</span>` : ""}</td></tr>`);
    const erows = b.blockEvents.map((e) => `<tr><td>${esc(e.phase)}</td><td class="events">${eventText(e)}</td></tr>`);
    const moreEvents = b.blockEventCount > b.blockEvents.length ? ` <span class="muted">(the first ${fmtInt(b.blockEvents.length)} of ${fmtInt(b.blockEventCount)})</span>` : "";
    return `<h1>Block ${fmtInt(b.number)}</h1><div class="cards">` +
      card("hash", `<span class="hash">${esc(b.hash)}</span>`) + card("parent", hashLink("block", b.parentHash)) +
      card("author", addr(b.author)) + card("time", time(b.timestamp)) + card("slot", fmtInt(b.slot)) +
      card("size", fmtInt(b.size) + " bytes") + card("status", b.finalized ? "finalized" : b.canonical ? "best chain" : "side chain") +
      card("state root", `<span class="hash">${esc(short(b.stateRoot))}</span>`) + `</div>` +
      `<div class="pager">${b.number > 0 ? `<a href="#/block/${b.number - 1}">previous</a>` : ""}<a href="#/block/${b.number + 1}">next</a></div>` +
      `<h2>Extrinsics</h2>` + xtPager + table(["#", "hash", "call", "signer", "#fee", "outcome", "events"], xrows, "block-extrinsics") +
      `<h2>Block events${moreEvents}</h2>` + table(["phase", "event"], erows);
  },
};

PAGES.extrinsic = {
  live: false,
  async render(args) {
    const x = await rpc("btt_explorerExtrinsic", [args[0]]);
    if (!x) return `<h1>Extrinsic</h1><div class="error">no extrinsic ${esc(args[0])} on this node</div>`;
    if (x.status === "pending") { PAGES.extrinsic.live = true; return `<h1>Extrinsic</h1><p>pending in the pool: <span class="hash">${esc(x.hash)}</span></p>`; }
    await prepareUnits(x.events, [x.call]);
    const argRows = callArgs(x.call).map(([k, html]) => `<tr data-arg="${esc(k)}"><td>${esc(k)}</td><td class="arg">${html}</td></tr>`);
    return `<h1>Extrinsic ${esc(short(x.hash))}</h1><div class="cards">` +
      card("hash", `<span class="hash">${esc(x.hash)}</span>`) + card("block", `<a href="#/block/${x.blockNumber}">${fmtInt(x.blockNumber)}</a> #${x.index}`) +
      card("call", `<span class="mono" id="xt-call">${esc(x.call.name || "?")}</span>`) + card("signer", addr(x.signer)) +
      card("nonce", x.nonce ?? "-") + card("fee", amt(x.fee, "xt-fee")) + card("tip", amt(x.tip)) + card("outcome", outcome(x)) +
      card("time", time(x.timestamp)) + card("era", x.signer ? (x.era ? `born ${x.era.birth}, ${x.era.period} blocks` : "immortal") : "inherent (unsigned)") +
      `</div><h2>Arguments</h2>` + table(["name", "value"], argRows, "xt-args") +
      `<h2>Events${x.eventCount > x.events.length ? ` <span class="muted">(the first ${fmtInt(x.events.length)} of ${fmtInt(x.eventCount)})</span>` : ""}</h2>` +
      table(["event"], x.events.map((e) => `<tr><td class="events">${eventText(e)}</td></tr>`), "xt-events");
  },
};

PAGES.account = {
  live: true,
  interval: 2000,
  async render(args) {
    const who = args[0];
    const form = `<form id="account-form" class="pager"><input id="account-input" class="wide" placeholder="address" value="${esc(who || "")}">` +
      `<button type="submit">show</button></form>`;
    if (!who) return `<h1>Account</h1>${form}<p class="muted">Enter an address, or pick one from a block.</p>`;
    const [acct, locks, vest, stakes, reserves, xts, pts] = await Promise.all([
      rpc("btt_account", [who]), rpc("btt_explorerLocks", [who]), rpc("btt_vesting", [who]), rpc("btt_stakes", [who]),
      rpc("btt_explorerReserves", [who]), rpc("btt_explorerAccountExtrinsics", [who, 500, 20]), rpc("btt_points", [who]),
    ]);
    const lockRows = locks.locks.map((l) => `<tr><td>${esc(l.source)}</td><td class="num">${amt(l.amount)}</td></tr>`);
    // every part of the reserved balance, read at one block with the total the card shows (btt_explorerReserves):
    // the rows add up to it, and whatever they leave out is a row of its own, never hidden
    const reservedRows = reserves.reserves.map((r) => `<tr data-source="${esc(r.source)}"><td>${reserveWhat(r)}</td>` +
      `<td class="num">${amt(r.amount)}</td></tr>`);
    if (reserves.unattributed !== "0") reservedRows.push(`<tr id="reserved-unattributed" class="bad"><td>not attributed` +
      `${reserves.complete ? "" : " (more records than one look reads)"}</td><td class="num">${amt(reserves.unattributed)}</td></tr>`);
    if (reservedRows.length) reservedRows.push(`<tr class="sum"><td>reserved</td><td class="num">${amt(reserves.reserved, "reserved-sum")}</td></tr>`);
    const stakeRows = stakes.deposits.map((d) => `<tr><td>${d.id}</td><td>${esc(d.tier)}</td><td class="num">${amt(d.amount)}</td>` +
      `<td class="num">${amt(d.accruedYield)}</td><td>${time(d.unlockMs)}</td><td>${d.unlocked ? '<span class="ok">unlocked</span>' : "locked"}</td></tr>`);
    const xrows = xts.extrinsics.map((x) => `<tr class="xt" data-hash="${esc(x.hash)}"><td>${hashLink("extrinsic", x.hash)}</td>` +
      `<td><a href="#/block/${x.blockNumber}">${fmtInt(x.blockNumber)}</a></td><td class="mono">${esc(x.call.name || "?")}</td>` +
      `<td>${esc(x.role)}</td><td class="num">${amt(x.fee)}</td><td>${outcome(x)}</td><td>${time(x.timestamp)}</td></tr>`);
    let vestHtml = `<p class="muted">no vesting schedules</p>`;
    if (vest.schedules.length) {
      const start = Math.min(...vest.schedules.map((s) => s.start)), end = Math.max(...vest.schedules.map((s) => s.end));
      const points = [];
      const steps = 60;
      for (let i = 0; i <= steps; i++) {
        const t = start + ((end - start) * i) / steps;
        let unlocked = 0n;
        for (const s of vest.schedules) unlocked += vestedAt(s, t);
        points.push([t, btt(unlocked)]);
      }
      vestHtml = lineChart([{ name: "unlocked (BTT)", points }], { title: "vesting", marker: vest.at, markerLabel: "today",
        xFmt: (v) => (end - start < 2 * 86400000 ? new Date(v).toLocaleTimeString() : new Date(v).toLocaleDateString()), yFmt: compactBtt }) +
        table(["#total", "start", "cliff", "end", "kind", "#unlocked", "#locked"], vest.schedules.map((s) =>
          `<tr><td class="num">${amt(s.total)}</td><td>${time(s.start)}</td><td>${time(s.cliff)}</td><td>${time(s.end)}</td>` +
          `<td>${esc(s.kind)}</td><td class="num">${amt(s.unlocked)}</td><td class="num">${amt(s.locked)}</td></tr>`));
    }
    return `<h1>Account</h1>${form}<p class="mono full-hash" id="account-address">${addr(acct.address)} ${esc(acct.address)}</p><div class="cards">` +
      card("free", amt(acct.free, "acct-free")) + card("reserved", amt(reserves.reserved, "acct-reserved")) +
      card("frozen", amt(acct.frozen, "acct-frozen")) + card("spendable", amt(acct.spendable, "acct-spendable")) +
      card("nonce", `<span id="acct-nonce">${acct.nonce}</span>`) + card("staked", amt(stakes.stakedTotal)) +
      card("incentive points", `${points(pts.points, "acct-points")} <span class="muted">(worth ${amt(pts.value)})</span>`) + `</div>` +
      `<div class="two"><div><h2>Locks (frozen is the largest)</h2>` + table(["source", "#amount"], lockRows, "locks") +
      `</div><div><h2>Reserved</h2>` + table(["for", "#amount"], reservedRows, "reserved") + `</div></div>` +
      `<h2>Vesting</h2>${vestHtml}<h2>Stakes</h2>` + table(["id", "tier", "#amount", "#accrued yield", "unlocks", ""], stakeRows, "stakes") +
      `<h2>Recent extrinsics <span class="muted">(blocks ${fmtInt(xts.scanned[0])} to ${fmtInt(xts.scanned[1])}` +
      `${xts.complete ? "" : ", more before them"})</span></h2>` +
      table(["hash", "block", "call", "role", "#fee", "outcome", "time"], xrows, "account-extrinsics");
  },
};

function reserveWhat(r) {
  // what a reserve is for, linked to what it names where the explorer has a page for it
  let what = esc(r.what);
  if (r.source === "compute" && /^job #/.test(r.what)) what = `<a href="#/job/${esc(r.ref)}">${what}</a>`;
  else if (r.source === "governance") what = `<a href="#/governance">${what}</a>`;
  return what + (r.untilMs ? ` <span class="muted">until ${time(r.untilMs)}</span>` : "");
}

function vestedAt(s, t) {
  // the runtime's linear rule (runtime/vesting/types.py): nothing before the cliff, then linear to the end
  const total = BigInt(s.total);
  if (t < s.cliff) return 0n;
  if (t >= s.end || s.end <= s.cliff) return total;
  return (total * BigInt(Math.floor(t - s.cliff))) / BigInt(s.end - s.cliff);
}

PAGES.validators = {
  live: true,
  interval: 3000,
  async render() {
    const [pt, blocks, ev] = await Promise.all([rpc("btt_powerTable"), rpc("btt_explorerBlocks", [null, 1]),
      rpc("btt_explorerEvents", [["evidence", "bonds"], 2000, 50])]);
    const epochTable = (e) => {
      const total = BigInt(e.totalWeight);
      const rows = e.validators.map((v) => `<tr><td>${addr(v.account)}</td><td class="num">${amt(v.bond)}</td>` +
        `<td class="num">${ratioPct(v.stakeShare)}</td><td class="num">${ratioPct(v.workShare)}</td>` +
        `<td class="num">${pct(BigInt(v.weight), total)}</td><td class="num">${ratioPct(v.leaderShare)}</td><td class="num">${credit(v.credit)}</td></tr>`);
      return table(["validator", "#bond", "#stake share", "#work share", "#weight", "#leader share", "#credit"], rows, `power-${e.epoch}`) +
        barChart(e.validators.map((v) => ({ label: short(v.account), values: [ratioNumber(v.stakeShare), ratioNumber(v.workShare), ratioNumber(v.leaderShare)] })),
          ["stake share", "work share", "leader share (weight)"], { title: "power table", max: 1 });
    };
    const leaders = pt.nextLeaders.map((l) => `<tr><td class="num">${l.slot}</td><td class="num">${l.epoch}</td><td>${addr(l.account)}</td></tr>`);
    await prepareUnits(ev.events);
    const slashes = ev.events.filter((e) => /Slash|Removed/.test(e.event)).map((e) => `<tr><td><a href="#/block/${e.block}">${fmtInt(e.block)}</a></td><td class="events">${eventText(e)}</td></tr>`);
    return `<h1>Validators</h1><div class="cards">` + card("epoch", fmtInt(pt.epoch)) + card("slots per epoch", fmtInt(pt.epochSlots)) +
      card("finality lag", fmtInt(blocks.head - blocks.finalized) + " blocks", "finality-lag") + card("validators", pt.current.validators.length) + `</div>` +
      `<p class="muted">weight = 1/2 stake share + 1/2 min(work share, stake share); a validator leads slots in proportion to its weight.</p>` +
      `<div class="two wide"><div><h2>Epoch ${pt.current.epoch} (current)</h2>${epochTable(pt.current)}</div>` +
      `<div><h2>Epoch ${pt.following.epoch} (next)</h2>${epochTable(pt.following)}</div></div>` +
      `<h2>Next leaders</h2>` + table(["#slot", "#epoch", "leader"], leaders, "leaders") +
      `<h2>Evidence and slashes <span class="muted">(last 2,000 blocks)</span></h2>` + table(["block", "event"], slashes, "slashes");
  },
};

const JOB_FLOW = [["posted", "compute.JobPosted"], ["assigned", "compute.JobAssigned"], ["committed", "compute.ResultCommitted"],
  ["revealed", "compute.SampleVerified"], ["settled", "compute.JobReceipt"], ["challenged", "compute.ChallengeUpheld"],
  ["fraud", "compute.FraudDetected"], ["missed", "compute.DeadlineMissed"]];

PAGES.compute = {
  live: true,
  interval: 3000,
  async render(args) {
    const status = args[0] && args[0] !== "all" ? args[0] : null;
    const before = args[1] !== undefined && args[1] !== "" ? Number(args[1]) : null;
    const [jobs, providers, mining, ev, models] = await Promise.all([rpc("btt_explorerJobs", [status, before, 25]), rpc("btt_providers"),
      rpc("btt_miningSchedule"), rpc("btt_explorerEvents", [["compute"], 2000, 1]), rpc("btt_models")]);
    const details = await Promise.all(models.slice(0, 20).map((m) => rpc("btt_model", [m.hash])));
    const modelRows = details.map((m) => {
      const acc = m.metadata && m.metadata.accuracy;
      const stated = acc && typeof acc.int8 === "number" ? `${(acc.int8 * 100).toFixed(1)}% int8 / ${typeof acc.float === "number" ? (acc.float * 100).toFixed(1) + "%" : "?"} float on ${fmtInt(acc.heldOutCases || 0)} held-out cases` : '<span class="muted">not stated</span>';
      return `<tr><td>${esc(m.name)}<br><span class="mono muted">${short(m.hash)}</span></td><td>${esc(m.labels.join(", ") || "unnamed")}</td>` +
        `<td class="num">${fmtInt(m.macsPerItem)}</td><td class="num">${fmtInt(m.weightsSize)} B${m.weightsHeld ? "" : ' <span class="muted">(not held here)</span>'}</td>` +
        `<td>${m.owner ? addr(m.owner) : "governance"}</td><td>${stated}</td></tr>`;
    });
    const flow = JOB_FLOW.map(([label, key]) => card(label, fmtInt(ev.counts[key] || 0), `flow-${label}`)).join("");
    const jobRows = jobs.jobs.map((j) => `<tr data-job="${j.id}"><td class="num"><a href="#/job/${j.id}">${j.id}</a></td><td>${esc(j.modelName || short(j.model))}${j.private ? ' <span class="pill">private</span>' : ""}</td>` +
      `<td>${addr(j.requester)}</td><td class="num">${j.items}</td><td class="num">${amt(j.price)}</td><td class="job-status">${esc(j.status)}</td>` +
      `<td>${j.assignments.map((a) => `${addr(a.provider)} <span class="assign-state">${esc(a.state)}</span>`).join("<br>") || '<span class="muted">unassigned</span>'}</td>` +
      `<td class="mono">burn ${amt(j.split.burned)}<br>provider ${amt(j.split.provider)}<br>dev ${amt(j.split.developmentFund)}` +
      `<br>foundation ${amt(j.split.foundation)}<br>reserve ${amt(j.split.operationalReserve)}</td></tr>`);
    const provRows = providers.map((p) => `<tr><td>${addr(p.account)}</td><td class="num">${amt(p.bond)}</td><td>${p.registered ? "yes" : "left"}</td>` +
      `<td class="num">${p.active}/${p.capacity}</td><td class="num">${p.stats.assigned}</td><td class="num">${p.stats.completed}</td>` +
      `<td class="num">${p.stats.frauds}</td><td class="num">${ratioPct(p.onTimeRatio)}</td><td class="num">${credit(p.credit.recent)}</td><td class="num">${credit(p.credit.pending)}</td></tr>`);
    // the pool's schedule: cumulative emission per epoch over its periods, with what was emitted so far
    const sched = [[0, 0]];
    let cum = 0n;
    for (const per of mining.periods) { cum += BigInt(per.amount); sched.push([per.lastEpoch + 1, btt(cum)]); }
    const emitted = [[0, 0], [mining.currentEpoch, btt(mining.emitted)]];
    const sel = ["all", "open", "done", "expired", "cancelled"].map((s) => `<option${(status || "all") === s ? " selected" : ""}>${s}</option>`).join("");
    return `<h1>Compute</h1><h2>Jobs flowing <span class="muted">(events of blocks ${fmtInt(ev.from)} to ${fmtInt(ev.to)})</span></h2>` +
      `<div class="cards" id="flow">${flow}</div>` +
      `<h2>Jobs <span class="muted">(${fmtInt(jobs.total)} posted)</span></h2>` +
      `<div class="pager">status <select id="job-status">${sel}</select>` +
      `${before !== null ? `<a href="#/compute/${status || "all"}">newest</a>` : ""}` +
      `${jobs.next !== null ? `<a href="#/compute/${status || "all"}/${jobs.next}">older</a>` : ""}</div>` +
      table(["#id", "model", "requester", "#items", "#price", "status", "assignments", "split"], jobRows, "jobs") +
      `<h2>Models <span class="muted">(accuracy as each owner states it; a job's page reads its results as labels)</span></h2>` +
      table(["model", "classes", "#work per item", "#weights", "registered by", "held-out accuracy"], modelRows, "models") +
      `<h2>Providers</h2>` + table(["provider", "#bond", "registered", "#active/capacity", "#assigned", "#completed", "#frauds", "#on time", "#credit (recent)", "#credit (pending)"], provRows, "providers") +
      `<h2>Mining pool</h2><div class="cards">` + card("emitted", amt(mining.emitted, "mining-emitted")) + card("paid", amt(mining.paid)) +
      card("held back", amt(mining.heldBack)) + card("pool balance", amt(mining.poolBalance)) + card("total emission", amt(mining.totalEmission)) +
      card("epoch", `${fmtInt(mining.currentEpoch)} (period ${mining.currentPeriod})`) + `</div>` +
      lineChart([{ name: "schedule (cumulative BTT)", points: sched, dashed: true }, { name: "emitted so far", points: emitted, dots: true }],
        { title: "mining emission", marker: mining.currentEpoch, markerLabel: "now", xFmt: (e) => `epoch ${Math.round(e)}`, yFmt: compactBtt }) +
      `<p class="muted">${mining.periods.length} emission periods of ${fmtInt(mining.periods[0] ? mining.periods[0].epochs : 0)} epochs ` +
      `(${duration(mining.periods.reduce((a, p) => a + p.epochs, 0) * mining.epochMs)} in all on this chain's clock).</p>`;
  },
};

const RESULT_COLUMNS = ["provider", "labels", "item by item", "outputs from"];

function resultRow(x, labels) {
  // one provider's results read as labels; on a phone the row stacks, each cell under its column's name
  // (data-label), and a label wraps inside its pill rather than being cut at the screen's edge
  const counts = x.counts ? Object.entries(x.counts).map(([k, n]) => `${esc(k)}: ${fmtInt(n)}`).join("<br>") : '<span class="muted">outputs not held by this node (asking its peers)</span>';
  const items = x.classes ? x.classes.slice(0, 64).map((c, i) => `<span class="pill">${i}: ${esc(labels[c] || String(c))}</span>`).join(" ") + (x.classes.length > 64 ? " …" : "") : "";
  const [provider, counted, itemByItem, from] = RESULT_COLUMNS;
  return `<tr><td data-label="${provider}">${addr(x.provider)}</td><td data-label="${counted}">${counts}</td>` +
    `<td class="labels" data-label="${itemByItem}">${items}</td><td data-label="${from}">${esc(x.source || "")}</td></tr>`;
}

PAGES.job = {
  live: true,
  interval: 3000,
  async render(args) {
    const id = Number(args[0]);
    const [j, r] = await Promise.all([rpc("btt_job", [id]), rpc("btt_jobResults", [id])]);
    if (!j) return `<h1>Job #${esc(args[0])}</h1><p>No such job on this chain.</p>`;
    const rows = r.results.map((x) => resultRow(x, r.labels));
    const head = `<h1>Job #${fmtInt(j.id)} <span class="muted">${esc(j.status)}</span></h1><div class="cards">` +
      card("model", esc(j.modelName || short(j.model))) + card("items", fmtInt(j.items)) + card("price", amt(j.price)) +
      card("inputs", j.private ? "private: sealed to its provider" : r.synthetic ? "public: synthetic (from a seed)" : "public: the requester's cases") + `</div>` +
      // why the job stands where it does and what happened to each place and its escrow (runtime/compute/reasons.py)
      `<p id="job-reason">${esc(j.reason || "")}</p>` +
      `<h2>Places</h2>` + table(["provider", "state", "#escrow", "what happened"], j.assignments.map((a) =>
        `<tr><td>${addr(a.provider)}</td><td class="assign-state">${esc(a.state)}</td><td class="num">${amt(a.portion)}</td>` +
        `<td class="place-reason">${esc(a.reason || "")}</td></tr>`), "job-places");
    if (j.private) {
      // a private job: nobody but its provider reads its cases and nobody but its clinic its results; show what the chain checked
      const p = j.private;
      const outcome = { pending: "decoys not revealed yet", checked: "decoys revealed and re-sealed by every node; the provider's outputs for them re-executed",
        unrevealed: "the clinic did not reveal its decoys in time: its deposit was burned, the provider paid without work credit",
        unsealed: "the clinic never sealed its cases to the provider: refunded less the missed-assignment fee" }[p.outcome] || p.outcome;
      const checkRows = [
        ["decoys", `${fmtInt(p.decoys)} of ${fmtInt(j.items)} items (positions hidden by a commitment until revealed${p.decoyPositions.length ? ": " + p.decoyPositions.join(", ") : ""})`],
        ["what the chain checked", esc(outcome)],
        ["items sealed to", p.providerKey ? `${esc(short(p.providerKey))} (the provider drawn)` : '<span class="muted">no provider drawn yet</span>'],
        ["sealed root", p.sealedRoot ? esc(short(p.sealedRoot)) : '<span class="muted">not given yet</span>'],
        ["results sealed to", `${esc(short(p.clinicKey))} (the clinic)`],
        ["flagged as not opening", p.flagged.length ? p.flagged.join(", ") : "none"],
      ].map(([k, v]) => `<tr><td>${k}</td><td>${v}</td></tr>`);
      const sealedRows = r.results.map((x) => `<tr><td>${addr(x.provider)}</td><td>${esc(short(x.outputRoot))}</td><td>${esc(x.source || "not held by this node")}</td></tr>`);
      return head + `<h2>Private job: what the chain checked</h2>` + table(["", ""], checkRows, "job-private") +
        `<h2>Results</h2>` + table(["provider", "output root (over outputs sealed to the clinic)", "sealed outputs from"], sealedRows, "job-results") +
        `<p class="muted">This node holds the job's cases and results only as ciphertexts: the cases open for the provider drawn, the results for the clinic. ` +
        `What anyone sees is the job's size, timing, decoy count and, once revealed, its decoys (cases of no patient).</p>`;
    }
    return head +
      `<h2>Results read as labels</h2>` + table(RESULT_COLUMNS, rows, "job-results", "stack") +
      `<p class="muted">Each output item's first byte names a class of the model (${esc(r.labels.join(", ") || "unnamed classes")}); ` +
      `every output shown here was checked against the provider's revealed output root.</p>`;
  },
};

PAGES.supply = {
  live: true,
  interval: 5000,
  async render() {
    const [s, burns] = await Promise.all([rpc("btt_explorerSupply"), rpc("btt_explorerBurns", [2000, 20])]);
    const total = BigInt(s.genesisSupply);
    const allocRows = s.allocations.map((r) => `<tr><td class="num">${r.index}</td><td>${esc(r.category)}</td><td class="num">${(r.percentPpm / 10000).toFixed(2)}%</td>` +
      `<td class="num">${amt(r.amount)}</td><td>${esc(r.kind)}${r.kind === "linear" || r.kind === "milestones" ? ` (cliff ${r.cliffMonths} mo, ${r.durationMonths} mo)` : ""}</td>` +
      `<td class="num">${amt(r.released)}</td><td class="num">${amt(r.locked)}</td>` +
      `<td><div class="bar-cell"><span style="width:${BigInt(r.amount) ? Number((BigInt(r.released) * 100n) / BigInt(r.amount)) : 0}%"></span></div></td></tr>`);
    const sources = Object.keys(burns.totals);
    // every burn once: the node counts the ledger's burn events, each under the module that reported it; the rows
    // add up to what System.total_burned grew by over the same blocks (and to the total once block 0 is in range)
    const rowData = (burns.genesis !== null ? [["genesis", burns.genesis]] : []).concat(sources.map((k) => [k, burns.totals[k]]));
    const burnSum = rowData.reduce((a, [, v]) => a + BigInt(v), 0n);
    const grew = burns.burnedAt !== null && burns.burnedBefore !== null ? BigInt(burns.burnedAt) - BigInt(burns.burnedBefore) : null;
    const burnRows = rowData.map(([k, v]) => `<tr data-source="${esc(k)}"><td>${esc(k)}<br><span class="muted">${esc(burns.labels[k] || "")}</span></td>` +
      `<td class="num">${amt(v)}</td></tr>`);
    burnRows.push(`<tr class="sum"><td><b>all sources</b></td><td class="num"><b>${amt(burnSum.toString(), "burns-sum")}</b></td></tr>`);
    burnRows.push(`<tr><td>the chain's total burned ${burns.from === 0 ? "(all time, to block " + fmtInt(burns.to) + ")" : "grew by, blocks " + fmtInt(burns.from) + " to " + fmtInt(burns.to)}` +
      `${grew !== null && grew !== burnSum ? ' <span class="bad">(differs from the sum of the rows)</span>' : ""}</td>` +
      `<td class="num">${grew === null ? '<span class="muted">not read this far back (the node reads states up to 256 blocks old)</span>' : amt(grew.toString(), "burns-chain")}</td></tr>`);
    const cumul = {};
    const burnSeries = sources.map((k) => ({ name: k, points: burns.series.map((b) => { cumul[k] = (cumul[k] || 0n) + BigInt(b.bySource[k] || "0"); return [b.to, Number(cumul[k]) / 10 ** state.decimals]; }) }));
    const yearMs = s.yearSeconds * 1000;
    const nowYears = (s.timestamp - s.genesisTime) / yearMs;
    const projected = [[0, 0]].concat(s.years.map((y) => [y.year, y.projectedBps / 100]));
    const published = [[0, 0]].concat(s.years.map((y) => [y.year, y.publishedBps / 100]));
    const releasedNow = s.allocations.reduce((a, r) => a + BigInt(r.released), 0n);
    const nowPoint = [[Math.min(nowYears, s.years.length), Number((releasedNow * 10000n) / total) / 100]];
    return `<h1>Supply</h1><div class="cards">` + card("total issuance", amt(s.totalIssuance, "total-issuance")) +
      card("burned (all time)", amt(s.totalBurned, "total-burned")) + card("genesis supply", amt(s.genesisSupply)) +
      card("released now", amt(releasedNow.toString())) + `</div>` +
      `<h2>Burns by source <span class="muted">(blocks ${fmtInt(burns.from)} to ${fmtInt(burns.to)}, each burn counted once)</span></h2><div class="two"><div>` +
      table(["source", "#burned"], burnRows, "burns") + `</div><div>` +
      lineChart(burnSeries.length ? burnSeries : [{ name: "no burns in range", points: [[burns.from, 0], [burns.to, 0]] }],
        { title: "cumulative burns", xFmt: (v) => "#" + Math.round(v), yFmt: (v) => v.toFixed(v < 10 ? 2 : 0) }) + `</div></div>` +
      `<h2>Genesis allocation</h2>` + table(["#", "row", "#share", "#amount", "release", "#released", "#locked", "released"], allocRows, "allocations") +
      `<h2>Release schedule against the seed's table</h2>` +
      lineChart([{ name: "seed's table (cumulative %)", points: published, dots: true }, { name: "projected by this genesis", points: projected, dashed: true },
        { name: "released now", points: nowPoint, dots: true }], { title: "release schedule", marker: Math.min(nowYears, s.years.length), markerLabel: "today",
        xFmt: (v) => { const y = s.years[Math.round(v) - 1]; return y ? y.publishedLabel : "genesis"; }, yFmt: (v) => v.toFixed(0) + "%" }) +
      `<p class="muted">${esc(s.releaseNote)}</p>`;
  },
};

// the houses rule's weight bar (governance.house_min_other_aye_bps): the aye weight of a house's aye voters other
// than its `otherAyeLeavesOut` largest, against its electorate; a referendum closed before the chain stored it
// has `otherAyeRecorded` false and says "not recorded", never a number the chain did not check
function beyondWhom(n) { return n <= 0 ? "voting aye" : n === 1 ? "voting aye beyond the largest aye voter" : `voting aye beyond the ${n} largest aye voters`; }

function beyondHeader(rule) { const n = rule.otherAyeLeavesOut; return n <= 0 ? "aye of house" : n === 1 ? "aye beyond largest" : `aye beyond ${n} largest`; }

function otherAyeCell(v, rule) { return rule.otherAyeRecorded ? ratioPct(v.otherAyeShare) : '<span class="muted">not recorded</span>'; }

function bpsPct(bps) { return (bps / 100).toFixed(2) + "%"; }

function weightRule(rule, frozen) {
  if (!rule.otherAyeRecorded) return `; the weight ${beyondWhom(rule.otherAyeLeavesOut)}: not recorded (${frozen ? "voting closed before the chain stored it" : "the spec the chain runs has no weight bar"})`;
  return `, at least ${bpsPct(rule.minOtherAyeBps)} of the house ${beyondWhom(rule.otherAyeLeavesOut)}`;
}

function houseStanding(v, rule) {
  // whether a house counts toward the houses rule and, if not, the first rule it fails, in words
  if (v.inFavour) return '<span class="ok">yes</span>';
  if (v.empty) return "-";
  if (BigInt(v.aye) <= BigInt(v.nay)) return "no";
  if (!v.meetsTurnoutFloor) return '<span class="bad">below floor</span>';
  if (!v.enoughAyeVoters) return `<span class="bad">${v.ayeVoters} aye voter${v.ayeVoters === 1 ? "" : "s"}</span>`;
  if (v.enoughOtherAye === false) {
    const n = rule.otherAyeLeavesOut, whom = n <= 0 ? "voting aye" : n === 1 ? "aye beyond the largest" : `aye beyond the ${n} largest`;
    return `<span class="bad">under ${bpsPct(rule.minOtherAyeBps)} ${whom}</span>`;
  }
  return "no";
}

PAGES.governance = {
  live: true,
  interval: 2000,
  async render() {
    // btt_explorerReferenda: each referendum with its tally (live while voting, the figures the chain stored at the
    // close once closed: never recounted) and, in words, why it stands where it stands
    const refs = await rpc("btt_explorerReferenda", [20]);
    await prepareUnits([], refs.map((r) => r.call));
    const now = state.headTime || Date.now();
    let weights = null;
    const cards = refs.map((r) => {
      const t = r.tallyAtClose || r.liveTally, x = r.explanation;
      if (r.liveTally && !weights) weights = r.liveTally.houses; // this year's weights: a frozen tally keeps its own year's
      const houses = t ? Object.entries(t.houses).map(([h, v]) => `<tr data-house="${esc(h)}"><td>${esc(h)}</td><td class="num house-aye">${houseQty(v.aye, h)}</td>` +
        `<td class="num house-nay">${houseQty(v.nay, h)}</td><td class="num">${ratioPct(v.weightThisYear)}</td><td class="num">${ratioPct(v.weight)}</td>` +
        `<td class="num">${v.ayeShare === null ? "-" : ratioPct(v.ayeShare)}</td>` +
        `<td class="num house-turnout">${(v.turnoutPpm / 10000).toFixed(2)}%</td>` +
        `<td class="num house-other-aye">${otherAyeCell(v, t.housesInFavour)}</td>` +
        `<td class="house-in-favour">${houseStanding(v, t.housesInFavour)}</td></tr>`) : [];
      const left = r.status === "voting" ? duration(r.votingEndsMs - now) + " left" : esc(r.status);
      const good = ["passed", "enacted"].includes(x.verdict), bad = ["rejected", "expired", "failed"].includes(x.verdict);
      const args = callArgs(r.call).map(([k, html]) => `<span class="field">${esc(k)}=${html}</span>`).join(" ");
      return `<div class="card referendum" data-referendum="${r.id}" data-verdict="${esc(x.verdict)}" data-final="${x.final}">` +
        `<h2>Referendum ${r.id}: <span class="mono">${esc(r.call.name || "?")}</span> <span class="muted">(${esc(r.track)}, ${esc(r.status)})</span></h2>` +
        `<p class="verdict-line">${x.final ? "verdict" : "verdict now"}: <b class="verdict ${good ? "ok" : bad ? "bad" : ""}">${esc(x.verdict)}</b>` +
        ` &mdash; <span class="verdict-reason">${esc(x.reason)}</span></p>` +
        `<p class="call-args">${args || '<span class="muted">no arguments</span>'}</p>` +
        `<p>proposer ${addr(r.proposer)}, deposit ${amt(r.deposit)}, voting ends ${time(r.votingEndsMs)} (<b class="time-left">${left}</b>)</p>` +
        (r.tallyAtClose ? `<p class="tally-frozen muted">figures at the close, stored by the chain in block #${r.tallyAtClose.block} (${time(r.tallyAtClose.closedMs)}); not recounted since</p>` : "") +
        (t ? table(["house", "#aye", "#nay", "#weight this year", "#weight counted", "#aye share", "#turnout", "#" + beyondHeader(t.housesInFavour), "in favour"], houses) +
          `<p>combined aye share <b>${ratioPct(t.ayeShare)}</b>; threshold ${t.threshold.rule} ${(t.threshold.thresholdBps / 100).toFixed(2)}%; ` +
          `houses in favour <span class="houses-in-favour">${t.housesInFavour.count} of ${t.housesInFavour.needed} needed</span> ` +
          `(turnout floor ${(t.housesInFavour.turnoutFloorBps / 100).toFixed(2)}%, at least ${t.housesInFavour.minAyeVoters} aye voter${t.housesInFavour.minAyeVoters === 1 ? "" : "s"}<span class="weight-rule">${esc(weightRule(t.housesInFavour, !!r.tallyAtClose))}</span>); ` +
          `quorum ${t.quorum.met ? '<span class="ok">met</span>' : '<span class="bad">not met</span>'} (turnout ${amt(t.quorum.turnout)} of ${amt(t.quorum.required)} required)</p>` : "") + `</div>`;
    });
    let weightCards = "";
    if (weights) weightCards = Object.entries(weights).map(([h, v]) => card(h, ratioPct(v.weightThisYear))).join("");
    else {
      const params = await rpc("btt_params");
      weightCards = params.filter((p) => p.name.startsWith("governance.house_bps.")).map((p) => card(p.name.slice(21), (p.value / 100).toFixed(2) + "%")).join("");
    }
    const unitNote = Object.entries(state.units.houses).map(([h, u]) => `${esc(h)} in ${esc(u === "btt" ? state.symbol : u)}`).join(", ");
    return `<h1>Governance</h1><h2>House weights this year</h2><div class="cards">${weightCards}</div>` +
      `<p class="muted">Each house counts its own weight: ${unitNote}. A referendum passes with the quorum, enough houses in favour at or above their turnout floor, with enough aye voters and enough of the house's weight voting aye beyond its largest aye voters (so a whale's dust accounts add nothing), and the aye share above the threshold. A closed referendum shows the figures stored when voting closed.</p>` +
      `<h2>Referenda</h2><div id="referenda">${cards.join("") || '<p class="muted">no referenda yet</p>'}</div>`;
  },
};

PAGES.assets = {
  live: true,
  interval: 3000,
  async render(args) {
    const who = args[0] || "";
    const assets = await rpc("btt_assets");
    const details = await Promise.all(assets.slice(0, 20).map((a) => rpc("btt_asset", [a.id])));
    for (const a of assets) if (a.token) state.tokens.set(String(a.id), { symbol: a.token.symbol, decimals: a.token.decimals });
    const assetRows = assets.map((a) => `<tr><td class="num">${a.id}</td><td>${esc(a.class)}</td><td>${addr(a.owner)}</td><td>${esc(a.status)}${a.frozen ? " (frozen)" : ""}</td>` +
      `<td class="num">${amt(a.valuation)}</td><td>${a.token ? `${tokenAmount(a.token.supply, a.id)} minted` : "-"}</td></tr>`);
    const offers = details.filter(Boolean).flatMap((a) => (a.offers || []).map((o) => `<tr><td class="num">${o.id}</td><td class="num">${a.id}</td>` +
      `<td>${addr(o.seller)}</td><td class="num">${tokenAmount(o.amount, a.id)}</td><td class="num">${amt(o.price)}</td><td class="num">${amt(o.tradeFee.fee)}</td></tr>`));
    let invoices = `<p class="muted">enter an account to list its invoices</p>`;
    if (who) {
      const inv = await rpc("btt_invoices", [who]);
      invoices = table(["#id", "payer", "payee", "#amount", "status", "due"], inv.map((i) => `<tr><td class="num">${i.id}</td><td>${addr(i.payer)}</td>` +
        `<td>${addr(i.payee)}</td><td class="num">${amt(i.amount)}</td><td>${esc(i.status)}</td><td>${time(i.dueMs)}</td></tr>`), "invoices");
    }
    const ev = await rpc("btt_explorerEvents", [["assets", "payments"], 2000, 30]);
    await prepareUnits(ev.events);
    return `<h1>Assets and payments</h1><h2>Registered assets</h2>` + table(["#id", "class", "owner", "status", "#valuation", "token"], assetRows, "assets") +
      `<h2>Open offers</h2>` + table(["#offer", "#asset", "seller", "#fractions", "#price", "#trade fee"], offers, "offers") +
      `<h2>Invoices</h2><form id="invoice-form" class="pager"><input id="invoice-account" class="wide" placeholder="address" value="${esc(who)}"><button type="submit">show</button></form>${invoices}` +
      `<h2>Recent asset and payment events</h2>` + table(["block", "event"], ev.events.map((e) => `<tr><td><a href="#/block/${e.block}">${fmtInt(e.block)}</a></td><td class="events">${eventText(e)}</td></tr>`), "asset-events");
  },
};

// ------------------------------------------------------------------------------------------- routing
function parseRoute() {
  const parts = (location.hash || "#/chain").replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  const page = PAGES[parts[0]] ? parts[0] : "chain";
  return { page, args: parts.slice(1) };
}

async function refresh(full) {
  const route = state.route;
  const page = PAGES[route.page];
  const el = document.getElementById("page");
  if (!state.ws || state.ws.readyState !== WebSocket.OPEN) return;
  state.refreshing = true;
  try {
    const html = await page.render(route.args);
    if (route !== state.route) return;
    // keep the user's place when a live page redraws
    const focused = document.activeElement && document.activeElement.id;
    const value = focused ? document.activeElement.value : null;
    el.innerHTML = html;
    el.dataset.page = route.page;
    el.dataset.loaded = String(Date.now());
    if (focused && !full) { const f = document.getElementById(focused); if (f) { f.value = value; f.focus(); } }
  } catch (e) {
    if (route === state.route && !/connection closed|reconnected|not connected/.test(e.message)) {
      el.innerHTML = `<div class="error">${esc(e.message)}</div>`;
      el.dataset.page = route.page;
      el.dataset.loaded = String(Date.now());
    }
  } finally {
    state.refreshing = false;
    state.lastRefresh = Date.now();
  }
}

function render() {
  state.route = parseRoute();
  if (state.route.page === "extrinsic") PAGES.extrinsic.live = false;
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("active", a.dataset.nav === state.route.page ||
    (a.dataset.nav === "chain" && ["block", "extrinsic"].includes(state.route.page))));
  document.getElementById("page").dataset.loaded = "";
  refresh(true);
}

async function search(q) {
  q = q.trim();
  if (!q) return;
  try {
    const found = await rpc("btt_explorerSearch", [q]);
    if (!found) { document.getElementById("page").innerHTML = `<div class="error">nothing found for ${esc(q)}</div>`; return; }
    if (found.kind === "block") location.hash = `#/block/${found.number}`;
    else if (found.kind === "extrinsic") location.hash = `#/extrinsic/${found.hash}`;
    else location.hash = `#/account/${found.address}`;
  } catch (e) { document.getElementById("page").innerHTML = `<div class="error">${esc(e.message)}</div>`; }
}

function copy(text, button) {
  const done = () => { button.classList.add("done"); button.textContent = "✓"; setTimeout(() => { button.classList.remove("done"); button.textContent = "copy"; }, 1200); };
  if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(done, () => fallbackCopy(text, done));
  else fallbackCopy(text, done);
}

function fallbackCopy(text, done) {
  const t = document.createElement("textarea");
  t.value = text; document.body.appendChild(t); t.select();
  try { document.execCommand("copy"); } catch (e) { /* the text stays selected for the user */ }
  document.body.removeChild(t); done();
}

document.addEventListener("click", (ev) => {
  const b = ev.target.closest("button.copy");
  if (b) { ev.preventDefault(); copy(b.dataset.copy, b); }
});
document.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const id = ev.target.id;
  if (id === "node-form") {
    const url = document.getElementById("node-url").value;
    const params = new URLSearchParams(location.search); params.set("node", url);
    history.replaceState(null, "", "?" + params.toString() + location.hash);
    connect(url);
  } else if (id === "search-form") search(document.getElementById("search").value);
  else if (id === "account-form") location.hash = "#/account/" + document.getElementById("account-input").value.trim();
  else if (id === "invoice-form") location.hash = "#/assets/" + document.getElementById("invoice-account").value.trim();
});
document.addEventListener("change", (ev) => {
  if (ev.target.id === "job-status") location.hash = "#/compute/" + ev.target.value;
});
window.addEventListener("hashchange", render);
window.addEventListener("DOMContentLoaded", () => {
  const url = defaultUrl();
  document.getElementById("node-url").value = url;
  state.route = parseRoute();
  connect(url);
});
