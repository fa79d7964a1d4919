// zicht dashboard: draws the published layers embedded in this page on a canvas.
// Everything it shows comes from the JSON block "zicht-data" (the GeoPackage's
// published columns); it computes comparisons from those figures only, and makes no
// request to any host. Its words are in ZICHT_WORDS (dashboard-words.js).
(function () {
  "use strict";
  const DATA = JSON.parse(document.getElementById("zicht-data").textContent);
  // text columns come as their distinct parts and an index per area (see dashboard.py)
  for (const level of Object.values(DATA.levels)) {
    for (const [name, column] of Object.entries(level.columns)) {
      if (Array.isArray(column)) continue;
      level.columns[name] = column.codes.map((k) => (k === null ? null : Array.isArray(k) ? k.map((j) => column.parts[j]).join(column.sep) : column.parts[k]));
    }
  }
  const META = DATA.meta;
  const INDICATORS = {};
  for (const row of DATA.indicators) INDICATORS[row.id] = row;
  const MAX_ROWS = 400;
  const MAX_LABELS = 250;
  // a score whose range is wider than this many points (of 100) is marked on the map:
  // its place among the areas could be quite different
  const WIDE_RANGE = 40;
  const MAX_COMPARE = 4;
  const LOW = META.low_population || { column: "inwoners", below: 50 };
  const WORDS = ZICHT_WORDS;

  const state = {
    lang: META.language === "en" ? "en" : "nl",
    level: META.levels[META.levels.length - 1].id,
    theme: META.themes.length ? META.themes[0].id : "none",
    layer: null,
    selected: null,
    focus: -1,
    hover: -1,
    filter: "",
    compare: [],
    sort: { column: null, descending: true },
    draws: 0,
  };
  const geo = {};  // per level: paths, bounding boxes, outline
  const view = { scale: 1, tx: 0, ty: 0 };
  const canvas = document.getElementById("map");
  const ctx = canvas.getContext("2d");
  const $ = (id) => document.getElementById(id);

  function t(key, values) {
    let text = WORDS[state.lang][key] || key;
    for (const [k, v] of Object.entries(values || {})) text = text.replace("{" + k + "}", v);
    return text;
  }
  function published(text) {
    // a published Dutch text (a rule, the attribution) in the page's language
    if (state.lang !== "en" || !text) return text;
    let out = String(text);
    for (const [nl, en] of Object.entries(ZICHT_TEXT_EN)) out = out.split(nl).join(en);
    return out;
  }
  function joinList(items) {
    return items.length < 2 ? items.join("") : items.slice(0, -1).join(", ") + t("and") + items[items.length - 1];
  }
  function levelName(id) {
    const level = META.levels.find((l) => l.id === id);
    return level ? level[state.lang] : id;
  }
  function label(id) {
    const row = INDICATORS[id];
    return row ? (state.lang === "en" ? row.label_en : row.label_nl) || id : id;
  }
  function themeName(id) {
    if (id === "none") return t("context");
    const theme = META.themes.find((th) => th.id === id);
    return theme ? theme[state.lang] : id;
  }
  function fmt(value, digits) {
    if (value === null || value === undefined || Number.isNaN(value)) return "";
    if (digits === undefined) digits = Math.abs(value) >= 100 || Number.isInteger(value) ? 0 : 2;
    return new Intl.NumberFormat(state.lang === "en" ? "en-GB" : "nl-NL", {
      minimumFractionDigits: digits, maximumFractionDigits: digits,
    }).format(value);
  }
  function countText(n) { return n === 1 ? t("count1") : t("count", { n: fmt(n, 0) }); }
  function classLabel(kind, code) {
    const labels = (META.classes[kind] || {})[code];
    return labels ? labels[state.lang === "en" ? 1 : 0] : code;
  }
  function col(name, level) { return DATA.levels[level || state.level].columns[name]; }
  function has(name, level) { return col(name, level) !== undefined; }
  function known(v) { return v !== null && v !== undefined; }
  function trendOf(column) { return (META.trends || []).find((tr) => "trend_" + tr.id === column); }
  function isTrend(column) { return column.startsWith("trend_") && !(column in INDICATORS); }
  function isRisk(column) { return /^risk_/.test(column) && !/^risk_(low|high)_/.test(column) && !(column in INDICATORS); }

  // ---- geometry --------------------------------------------------------------
  function decode(level) {
    if (geo[level]) return geo[level];
    const L = DATA.levels[level];
    const paths = [], boxes = [], outline = new Path2D();
    for (const feature of L.geometry) {
      const path = new Path2D();
      let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      for (const polygon of feature) {
        for (const ring of polygon) {
          let x = 0, y = 0;
          for (let k = 0; k < ring.length; k += 2) {
            x += ring[k]; y += ring[k + 1];
            if (k === 0) path.moveTo(x, y); else path.lineTo(x, y);
            if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y;
          }
          path.closePath();
        }
      }
      paths.push(path); boxes.push([x0, y0, x1, y1]);
      outline.addPath(path);
    }
    let X0 = Infinity, Y0 = Infinity, X1 = -Infinity, Y1 = -Infinity;
    for (const b of boxes) { X0 = Math.min(X0, b[0]); Y0 = Math.min(Y0, b[1]); X1 = Math.max(X1, b[2]); Y1 = Math.max(Y1, b[3]); }
    geo[level] = { paths, boxes, outline, extent: [X0, Y0, X1, Y1], quantum: L.quantum, origin: L.origin };
    return geo[level];
  }
  // world (metres, RD New) <-> grid units of a level
  function toWorld(level, x, y) { const g = decode(level); return [g.origin[0] + x * g.quantum, g.origin[1] + y * g.quantum]; }

  function fitExtent(box, margin) {
    // box in world metres
    const w = canvas.clientWidth, h = canvas.clientHeight;
    const sx = (w * (1 - 2 * margin)) / Math.max(box[2] - box[0], 1);
    const sy = (h * (1 - 2 * margin)) / Math.max(box[3] - box[1], 1);
    view.scale = Math.min(sx, sy);
    view.tx = w / 2 - view.scale * (box[0] + box[2]) / 2;
    view.ty = h / 2 + view.scale * (box[1] + box[3]) / 2;
  }
  function worldBox(level, box) {
    const a = toWorld(level, box[0], box[1]), b = toWorld(level, box[2], box[3]);
    return [a[0], a[1], b[0], b[1]];
  }
  function resetView() { fitExtent(worldBox(state.level, decode(state.level).extent), 0.03); }
  function screenOf(level, gx, gy) {
    const [a, d, e, f] = gridTransform(level);
    return [a * gx + e, d * gy + f];
  }
  function showArea(i) {
    // a gentle move to an area: pan to it when it shows well at this scale, else zoom
    // out or in only as far as needed to see it with its surroundings (eight times its
    // size, at least 3 km across)
    const b = worldBox(state.level, decode(state.level).boxes[i]);
    const w = Math.max(b[2] - b[0], 1), h = Math.max(b[3] - b[1], 1);
    const size = Math.max(w, h) * view.scale, room = Math.min(canvas.clientWidth, canvas.clientHeight);
    if (size < 24 || size > room * 0.8) {
      const half = Math.max(Math.max(w, h) * 4, 1500);
      const cx = (b[0] + b[2]) / 2, cy = (b[1] + b[3]) / 2;
      fitExtent([cx - half, cy - half, cx + half, cy + half], 0.02);
      return;
    }
    const cx = (b[0] + b[2]) / 2, cy = (b[1] + b[3]) / 2;
    view.tx = canvas.clientWidth / 2 - view.scale * cx;
    view.ty = canvas.clientHeight / 2 + view.scale * cy;
  }
  function onScreen(i) {
    const p = DATA.levels[state.level].points[i], [x, y] = screenOf(state.level, p[0], p[1]);
    return x > 20 && y > 20 && x < canvas.clientWidth - 20 && y < canvas.clientHeight - 20;
  }

  // ---- fills: classes, and what a missing figure means ----------------------------
  const patterns = {};
  function pattern(kind) {
    // withheld: grey hatching; too few inhabitants or companies: cross-hatching; no
    // figure known: plain pale grey; marks over a class colour: dots (uncertain score)
    // and white stripes (few inhabitants)
    if (patterns[kind]) return patterns[kind];
    const tile = document.createElement("canvas");
    tile.width = tile.height = 8;
    const c = tile.getContext("2d");
    const line = (colour, width, cross) => {
      c.strokeStyle = colour; c.lineWidth = width; c.beginPath();
      c.moveTo(0, 8); c.lineTo(8, 0); c.moveTo(-2, 2); c.lineTo(2, -2); c.moveTo(6, 10); c.lineTo(10, 6);
      if (cross) { c.moveTo(0, 0); c.lineTo(8, 8); c.moveTo(6, -2); c.lineTo(10, 2); c.moveTo(-2, 6); c.lineTo(2, 10); }
      c.stroke();
    };
    if (kind === "withheld") { c.fillStyle = "#f7f7f7"; c.fillRect(0, 0, 8, 8); line("#a8a8a8", 1.5, false); }
    else if (kind === "area") { c.fillStyle = "#f7f7f7"; c.fillRect(0, 0, 8, 8); line("#b8b8b8", 1, true); }
    else if (kind === "missing") { c.fillStyle = "#e4e4e4"; c.fillRect(0, 0, 8, 8); }
    else if (kind === "wide") { c.fillStyle = "rgba(0,0,0,0.75)"; c.beginPath(); c.arc(4, 4, 1.2, 0, 2 * Math.PI); c.fill(); }
    else if (kind === "low") { line("rgba(255,255,255,0.9)", 2, false); }
    patterns[kind] = ctx.createPattern(tile, "repeat");
    return patterns[kind];
  }
  const SWATCH = {
    withheld: "repeating-linear-gradient(45deg, #a8a8a8 0 1.5px, #f7f7f7 1.5px 5px)",
    area: "repeating-linear-gradient(45deg, #b8b8b8 0 1px, transparent 1px 5px), repeating-linear-gradient(-45deg, #b8b8b8 0 1px, #f7f7f7 1px 5px)",
    missing: "#e4e4e4",
    wide: "radial-gradient(circle, rgba(0,0,0,.75) 1.3px, transparent 1.6px) 0 0 / 6px 6px, #fc8d59",
    low: "repeating-linear-gradient(45deg, rgba(255,255,255,.9) 0 2px, transparent 2px 6px), #fdbb84",
  };
  function legendOf(column, level) { return DATA.levels[level || state.level].legends[column]; }
  function colourOf(column, value, level) {
    const legend = legendOf(column, level);
    if (!legend || !known(value)) return null;
    if (legend.type === "category") {
      const hit = legend.classes.find((c) => c[0] === value);
      return hit ? hit[1] : META.no_value;
    }
    const classes = legend.classes;
    for (let k = 0; k < classes.length; k++) {
      const last = k === classes.length - 1;
      if (value >= classes[k][0] && (value < classes[k][1] || (last && value <= classes[k][1]))) return classes[k][2];
    }
    return value < classes[0][0] ? classes[0][2] : classes[classes.length - 1][2];
  }
  function isScoreColumn(column) { return /^(risk|hotspot|lisa|trend|rank|drivers)_/.test(column) && !(column in INDICATORS); }
  function rules(i, level) { return String((col("suppression", level) || [])[i] || ""); }
  function sensitive(id) {
    const row = INDICATORS[id];
    if (!row) return false;
    return row.sensitive === 1 || [row.numerator, row.subset_of].some((n) => n && INDICATORS[n] && INDICATORS[n].sensitive === 1);
  }
  function missingKind(column, i, level) {
    // why a figure is absent: the area rule (too few inhabitants or companies), a
    // withheld figure, or none known; for a score, whether the area rule took it
    const r = rules(i, level);
    if (isScoreColumn(column)) return /gebiedsregel personen/.test(r) ? "noScoreArea" : "noScore";
    const row = INDICATORS[column];
    if (!row || !sensitive(column)) return "missing";
    if (row.unit_type === "company" && /gebiedsregel bedrijven/.test(r)) return "areaCompanies";
    if (row.unit_type !== "company" && /gebiedsregel personen/.test(r)) return "areaPersons";
    return r ? "withheld" : "missing";
  }
  function missingFill(kind) {
    return kind === "withheld" ? "withheld" : kind === "missing" || kind === "noScore" ? "missing" : "area";
  }
  function withheldText(column, i, level) { return t(missingKind(column, i, level)); }
  function lowPopulation(column, i, level) {
    const row = INDICATORS[column], people = (col(LOW.column, level) || [])[i];
    return !!row && ["rate", "share"].includes(row.kind) && row.denominator === LOW.column && known(people) && people < LOW.below;
  }
  function scoreRange(theme, i, level) {
    const lo = (col("risk_low_" + theme, level) || [])[i], hi = (col("risk_high_" + theme, level) || [])[i];
    return known(lo) && known(hi) ? [lo, hi] : null;
  }
  function wideRange(column, i) {
    if (!isRisk(column)) return false;
    const r = scoreRange(column.slice(5), i);
    return !!r && r[1] - r[0] > WIDE_RANGE;
  }

  // ---- drawing ---------------------------------------------------------------
  function resize() {
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(canvas.clientWidth * dpr);
    canvas.height = Math.round(canvas.clientHeight * dpr);
  }
  function gridTransform(level) {
    // grid units -> CSS pixels: x' = s*q*x + s*ox + tx, y' = -s*q*y - s*oy + ty
    const g = decode(level), s = view.scale, q = g.quantum;
    return [s * q, -s * q, s * g.origin[0] + view.tx, -s * g.origin[1] + view.ty];
  }
  function useLevel(level) {
    const dpr = window.devicePixelRatio || 1, [a, d, e, f] = gridTransform(level);
    ctx.setTransform(a * dpr, 0, 0, d * dpr, e * dpr, f * dpr);
    return Math.abs(a);
  }
  function fillAreas(g, values) {
    const marks = { wide: [], low: [] };
    for (let i = 0; i < g.paths.length; i++) {
      const colour = colourOf(state.layer, values[i]);
      if (colour === null) ctx.fillStyle = pattern(missingFill(missingKind(state.layer, i)));
      else ctx.fillStyle = colour;
      ctx.fill(g.paths[i], "evenodd");
      if (colour !== null && wideRange(state.layer, i)) marks.wide.push(i);
      if (colour !== null && lowPopulation(state.layer, i)) marks.low.push(i);
    }
    for (const kind of ["wide", "low"]) {
      if (!marks[kind].length) continue;
      ctx.fillStyle = pattern(kind);
      for (const i of marks[kind]) ctx.fill(g.paths[i], "evenodd");
    }
  }
  function strokeBase(level) {
    // the coarser levels' outlines, for orientation: wijken thin, gemeenten bolder
    const order = META.levels.map((l) => l.id), mine = order.indexOf(level);
    order.slice(0, mine).forEach((coarse) => {
      const scale = useLevel(coarse), top = coarse === order[0];
      ctx.lineWidth = (top ? 2.2 : 1.3) / scale;
      ctx.strokeStyle = top ? "rgba(20,20,20,0.75)" : "rgba(30,30,30,0.6)";
      ctx.stroke(decode(coarse).outline);
    });
  }
  function drawNames(level) {
    // names where they fit inside their area's box on the screen
    const dpr = window.devicePixelRatio || 1, g = decode(level), names = col("naam", level) || [];
    const points = DATA.levels[level].points, [a, d, e, f] = gridTransform(level);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.font = "600 11px system-ui, sans-serif"; ctx.textAlign = "center"; ctx.textBaseline = "middle";
    ctx.lineJoin = "round"; ctx.lineWidth = 3; ctx.strokeStyle = "rgba(255,255,255,0.9)"; ctx.fillStyle = "#1a1a1a";
    const placed = [], w = canvas.clientWidth, h = canvas.clientHeight;
    for (let i = 0; i < g.paths.length && placed.length < MAX_LABELS; i++) {
      const b = g.boxes[i], bw = (b[2] - b[0]) * Math.abs(a), bh = (b[3] - b[1]) * Math.abs(d);
      if (bw < 50 || bh < 16 || !names[i]) continue;
      const x = a * points[i][0] + e, y = d * points[i][1] + f;
      if (x < 0 || y < 0 || x > w || y > h) continue;
      const tw = ctx.measureText(names[i]).width;
      if (tw + 6 > bw) continue;
      const box = [x - tw / 2 - 2, y - 8, x + tw / 2 + 2, y + 8];
      if (placed.some((p) => box[0] < p[2] && box[2] > p[0] && box[1] < p[3] && box[3] > p[1])) continue;
      placed.push(box);
      ctx.strokeText(names[i], x, y); ctx.fillText(names[i], x, y);
    }
  }
  function draw() {
    const level = state.level, g = decode(level);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    let scale = useLevel(level);
    const screen = ctx.getTransform().inverse();
    for (const kind of ["withheld", "area", "missing", "wide", "low"]) pattern(kind).setTransform(screen);
    fillAreas(g, col(state.layer) || []);
    ctx.lineWidth = 0.5 / scale;
    ctx.strokeStyle = "rgba(60,60,60,0.55)";
    ctx.stroke(g.outline);
    strokeBase(level);
    drawNames(level);
    scale = useLevel(level);
    if (state.hover >= 0) { ctx.lineWidth = 2 / scale; ctx.strokeStyle = "#333"; ctx.stroke(g.paths[state.hover]); }
    const sel = selectedIndex();
    if (sel >= 0) {
      ctx.lineWidth = 3.5 / scale; ctx.strokeStyle = "#00e5ff"; ctx.stroke(g.paths[sel]);
      ctx.lineWidth = 1.5 / scale; ctx.strokeStyle = "#000"; ctx.stroke(g.paths[sel]);
    }
    if (state.focus >= 0 && state.focus < g.paths.length) {
      ctx.setLineDash([6 / scale, 4 / scale]);
      ctx.lineWidth = 3 / scale; ctx.strokeStyle = "#000"; ctx.stroke(g.paths[state.focus]);
      ctx.setLineDash([]);
    }
    state.draws += 1;
    if (window.zichtFirstMap === undefined) {
      window.zichtFirstMap = performance.now();
      document.body.dataset.ready = "1";
    }
  }
  let pending = false;
  function redraw() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; draw(); });
  }

  function featureAt(px, py) {
    const level = state.level, g = decode(level);
    const [a, d, e, f] = gridTransform(level);
    const gx = (px - e) / a, gy = (py - f) / d;
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(a * dpr, 0, 0, d * dpr, e * dpr, f * dpr);
    for (let i = 0; i < g.paths.length; i++) {
      const b = g.boxes[i];
      if (gx < b[0] || gx > b[2] || gy < b[1] || gy > b[3]) continue;
      if (ctx.isPointInPath(g.paths[i], px * dpr, py * dpr, "evenodd")) return i;
    }
    return -1;
  }
  function codes(level) { return col("code", level || state.level); }
  const positions = {};  // per level: code -> index (a search looks up every parent)
  function indexOf(code, level) {
    level = level || state.level;
    if (!positions[level]) positions[level] = new Map(codes(level).map((c, i) => [c, i]));
    const i = positions[level].get(code);
    return i === undefined ? -1 : i;
  }
  function selectedIndex() { return state.selected ? indexOf(state.selected) : -1; }

  // ---- text for one area and column ------------------------------------------
  function valueText(column, value) {
    const kind = column.split("_")[0];
    if (["hotspot", "lisa", "trend"].includes(kind) && !(column in INDICATORS)) return classLabel(kind, value);
    if (typeof value === "number") {
      // units are written in Dutch only: an English page shows the bare number
      const unit = INDICATORS[column] && state.lang === "nl" ? INDICATORS[column].unit || "" : "";
      const digits = isRisk(column) ? 1 : undefined;
      return fmt(value, digits) + (unit && unit !== "%" ? " " + unit : unit === "%" ? "%" : "");
    }
    return String(value);
  }
  function layerLabel(column) {
    const m = /^(risk|hotspot|lisa)_(.+)$/.exec(column);
    if (m && !(column in INDICATORS)) return t(m[1]) + " " + themeName(m[2]).toLowerCase();
    if (isTrend(column)) {
      const trend = trendOf(column);
      return t("trend") + ": " + (trend ? trend[state.lang] : label(column.slice(6)));
    }
    const series = seriesOf(column);
    if (series) return series.s[state.lang] + " " + series.year;
    return label(column);
  }
  function rangeBar(lo, hi, value) {
    // a score's range on the 0-100 scale, with the score as a tick
    const title = t("range") + " " + fmt(lo, 0) + "–" + fmt(hi, 0);
    return '<span class="rangebar" role="img" aria-label="' + esc(title) + '" title="' + esc(title) + '"><span class="span" style="left:' +
      lo.toFixed(1) + "%;width:" + Math.max(hi - lo, 1).toFixed(1) + '%"></span>' +
      (known(value) ? '<span class="tick" style="left:' + value.toFixed(1) + '%"></span>' : "") + "</span>" +
      '<span class="rangetext">' + esc(fmt(lo, 0) + "–" + fmt(hi, 0)) + "</span>";
  }
  function cellHtml(column, i, level, bare) {
    const value = (col(column, level) || [])[i];
    if (!known(value)) return '<span class="withheld">' + esc(withheldText(column, i, level)) + "</span>";
    let text = esc(valueText(column, value));
    if (lowPopulation(column, i, level)) text += ' <small class="low">(' + esc(t("lowPopulationShort", { n: fmt(LOW.below, 0) })) + ")</small>";
    if (!bare && isRisk(column)) {
      const r = scoreRange(column.slice(5), i, level);
      if (r && r[1] - r[0] > 0.05) text += ' <small class="range">(' + t("range") + " " + fmt(r[0], 1) + "–" + fmt(r[1], 1) + ")</small>";
    }
    return text;
  }
  function esc(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  }
  const LABEL_EN = {};
  for (const row of DATA.indicators) {
    // the drivers name an input by its label without the "(synthetisch)" mark
    const bare = (text) => String(text).replace(/ \((synthetisch|synthetic)\)$/, "");
    if (row.label_nl && row.label_en) LABEL_EN[bare(row.label_nl).toLowerCase()] = bare(row.label_en);
  }
  function inputLabel(name) {
    // a score input as the drivers text names it ("label t.o.v. exposure", "label (in
    // omliggende gebieden)"), in English from the indicators' own English labels
    if (state.lang !== "en") return name;
    const nearby = / \(in omliggende gebieden\)$/.test(name);
    const parts = name.replace(/ \(in omliggende gebieden\)$/, "").split(" t.o.v. ");
    const english = parts.map((part) => LABEL_EN[part.toLowerCase()] || part).join(" relative to ");
    return english + (nearby ? " (in surrounding areas)" : "");
  }
  function driverParts(text) {
    // "label (+0,30); label (-0,20)" -> the labels that push the score up, and down
    const up = [], down = [];
    for (const part of String(text || "").split("; ").filter(Boolean)) {
      const cut = part.lastIndexOf(" (");
      const raw = cut > 0 ? part.slice(0, cut) : part, estimated = /, geschat$/.test(raw);
      let name = inputLabel(raw.replace(/, geschat$/, "")) + (estimated ? " (" + published("geschat") + ")" : "");
      // lower case inside a sentence, but not an abbreviation (WOZ, KvK)
      if (!/^.[A-Z]/.test(name)) name = name.charAt(0).toLowerCase() + name.slice(1);
      const sign = cut > 0 ? part.slice(cut + 2) : "+";
      (sign.startsWith("-") || sign.startsWith("−") ? down : up).push(name);
    }
    return { up, down };
  }
  function driverText(text) {
    const { up, down } = driverParts(text), out = [];
    if (up.length) out.push(t("driversUp") + ": " + joinList(up) + ".");
    if (down.length) out.push(t("driversDown") + ": " + joinList(down) + ".");
    return out.join(" ");
  }

  // ---- controls ----------------------------------------------------------------
  function seriesOf(column) {
    for (const s of DATA.series) {
      const hit = s.years.find((y) => y[1] === column);
      if (hit) return { s, year: hit[0] };
    }
    return null;
  }
  function layerOptions() {
    // the theme's score maps, every trend, and the theme's indicators (one entry per
    // yearly series: its year is chosen beside it)
    const options = [];
    const theme = state.theme;
    if (theme !== "none") {
      for (const kind of ["risk", "hotspot", "lisa"]) if (has(kind + "_" + theme)) options.push(kind + "_" + theme);
    }
    for (const trend of META.trends || []) if (has("trend_" + trend.id)) options.push("trend_" + trend.id);
    const seen = new Set();
    for (const row of DATA.indicators) {
      if ((row.theme || "none") !== theme || !has(row.id)) continue;
      const series = seriesOf(row.id);
      if (series) {
        if (seen.has(series.s.id)) continue;
        seen.add(series.s.id);
        const years = series.s.years.filter((y) => has(y[1]));
        const current = seriesOf(state.layer);
        options.push(current && current.s.id === series.s.id ? state.layer : years[years.length - 1][1]);
        continue;
      }
      options.push(row.id);
    }
    return options;
  }
  function fillSelect(select, items, current) {
    select.innerHTML = "";
    for (const [value, text] of items) {
      const option = document.createElement("option");
      option.value = value; option.textContent = text;
      if (value === current) option.selected = true;
      select.appendChild(option);
    }
  }
  function themesWithLayers() {
    const themes = META.themes.map((th) => th.id);
    if (DATA.indicators.some((r) => (r.theme || "none") === "none" && has(r.id))) themes.push("none");
    return themes;
  }
  function syncControls() {
    fillSelect($("level"), META.levels.map((l) => [l.id, l[state.lang]]), state.level);
    fillSelect($("theme"), themesWithLayers().map((th) => [th, themeName(th)]), state.theme);
    const options = layerOptions();
    if (!options.includes(state.layer)) state.layer = options[0] || null;
    fillSelect($("layer"), options.map((c) => [c, seriesOf(c) ? seriesOf(c).s[state.lang] : layerLabel(c)]), state.layer);
    const series = state.layer ? seriesOf(state.layer) : null;
    $("yearbox").hidden = !series;
    if (series) fillSelect($("year"), series.s.years.filter((y) => has(y[1])).map((y) => [y[1], String(y[0])]), state.layer);
    for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
    for (const el of document.querySelectorAll("[data-tp]")) { el.placeholder = t(el.dataset.tp); el.setAttribute("aria-label", t(el.dataset.tp)); }
    $("lang").textContent = t("lang");
    $("lang").setAttribute("aria-label", t("langLabel"));
    $("zoomin").setAttribute("aria-label", t("zoomin"));
    $("zoomout").setAttribute("aria-label", t("zoomout"));
    $("zoomreset").setAttribute("aria-label", t("home"));
    $("mapbox").setAttribute("aria-label", t("mapAria"));
    document.documentElement.lang = state.lang;
    $("maptitle").textContent = state.layer ? layerLabel(state.layer) + " · " + levelName(state.level) : "";
    canvas.setAttribute("aria-label", $("maptitle").textContent);
  }
  function swatch(background, text) { return '<div><i style="background:' + background + '"></i>' + esc(text) + "</div>"; }
  function renderLegend() {
    const box = $("legendbody"), column = state.layer, legend = column ? legendOf(column) : null;
    let html = "";
    if (column && isTrend(column)) {
      const trend = trendOf(column);
      html += '<p class="about">' + esc(t("trendAbout", { what: trend ? trend[state.lang].toLowerCase() : column.slice(6) })) + "</p>";
    }
    if (legend && legend.type === "range") {
      for (const c of legend.classes) html += swatch(c[2], c[state.lang === "en" ? 4 : 3]);
    } else if (legend) {
      const present = new Set(col(column));
      for (const c of legend.classes) if (present.has(c[0])) html += swatch(c[1], classLabel(legend.kind, c[0]));
    }
    // the marks and the missing figures that occur on this map, in words
    const values = col(column) || [], kinds = new Set(), marks = new Set();
    for (let i = 0; i < values.length; i++) {
      if (!known(values[i])) kinds.add(missingKind(column, i));
      else if (wideRange(column, i)) marks.add("wide");
      else if (lowPopulation(column, i)) marks.add("low");
    }
    if (marks.has("wide")) html += swatch(SWATCH.wide, t("wide", { n: WIDE_RANGE }));
    if (marks.has("low")) html += swatch(SWATCH.low, t("lowPopulation", { n: fmt(LOW.below, 0) }));
    for (const kind of ["areaPersons", "areaCompanies", "noScoreArea", "withheld", "noScore", "missing"]) {
      if (kinds.has(kind)) html += swatch(SWATCH[missingFill(kind)], t(kind));
    }
    box.innerHTML = html;
  }
  function renderFooter() {
    const synthetic = [...new Set(DATA.indicators.filter((r) => r.synthetic === 1 && r.theme && r.theme !== "none").map((r) => r.theme))];
    let text = "";
    if (synthetic.length) text += t("synthetic", { themes: joinList(synthetic.map(themeName)) }) + " ";
    const source = published(META.attribution || "CBS");
    text += (/^(bron|source)\b/i.test(source) ? source : t("source") + ": " + source) + " · " + t("created") + " " + META.created;
    $("footer").textContent = text;
  }

  // ---- table -------------------------------------------------------------------
  function rankColumns(theme) {
    // the rank, and where the scores branch publishes them its best and worst place
    if (theme === "none" || !has("rank_" + theme)) return [];
    return ["rank_" + theme, "rank_low_" + theme, "rank_high_" + theme].filter((c) => has(c));
  }
  function tableColumns() {
    const columns = ["naam", "code"];
    if (state.layer) columns.push(state.layer);
    if (state.layer && isRisk(state.layer) && has("risk_low_" + state.layer.slice(5))) columns.push("range");
    if (rankColumns(state.theme).length && state.layer !== "rank_" + state.theme) columns.push("rank_" + state.theme);
    return columns;
  }
  function matches(i, needle) {
    // a search finds an area by its name or code, or by the name of its wijk or gemeente
    if (!needle) return true;
    const hit = (v) => String(v || "").toLowerCase().includes(needle);
    if (hit(col("naam")[i]) || hit(codes()[i])) return true;
    return parents(i).some((p) => hit(p.name));
  }
  function tableRows() {
    const all = codes(state.level), needle = state.filter.trim().toLowerCase();
    const rows = [];
    for (let i = 0; i < all.length; i++) if (matches(i, needle)) rows.push(i);
    const sortColumn = state.sort.column === "range" ? state.layer : state.sort.column || state.layer;
    if (sortColumn && has(sortColumn)) {
      const values = col(sortColumn), sign = state.sort.descending ? -1 : 1;
      rows.sort((a, b) => {
        const va = values[a], vb = values[b];
        if (!known(va)) return known(vb) ? 1 : 0;
        if (!known(vb)) return -1;
        if (typeof va === "number" && typeof vb === "number") return sign * (va - vb);
        return sign * String(va).localeCompare(String(vb), state.lang);
      });
    }
    return rows;
  }
  function headerText(column, long) {
    if (column === "naam") return t("name");
    if (column === "code") return t("code");
    if (column === "range") return t("rangeHead");
    if (column.startsWith("rank_low_")) return t("rankLow");
    if (column.startsWith("rank_high_")) return t("rankHigh");
    if (column.startsWith("rank_")) return t("rank");
    return long ? layerLabel(column) : t("value");
  }
  function rankHtml(theme, i, level) {
    const [rank, lo, hi] = ["rank_", "rank_low_", "rank_high_"].map((p) => (col(p + theme, level) || [])[i]);
    if (!known(rank)) return "";
    let text = esc(fmt(rank, 0));
    if (known(lo) && known(hi) && hi > lo) text += ' <small class="range">(' + esc(fmt(lo, 0) + "–" + fmt(hi, 0)) + ")</small>";
    return text;
  }
  function tableCell(c, i) {
    if (c === "naam" || c === "code") return '<td class="' + c + '">' + esc(col(c)[i] || "") + "</td>";
    if (c === "range") {
      const r = scoreRange(state.layer.slice(5), i);
      return '<td class="rangecell">' + (r ? rangeBar(r[0], r[1], col(state.layer)[i]) : "") + "</td>";
    }
    if (c.startsWith("rank_")) return '<td class="num">' + rankHtml(c.slice(5), i) + "</td>";
    return "<td" + (typeof col(c)[i] === "number" ? ' class="num"' : "") + ">" + cellHtml(c, i, state.level, true) + "</td>";
  }
  function renderTable() {
    const columns = tableColumns(), rows = tableRows();
    const sortColumn = state.sort.column || state.layer;
    const head = $("table").tHead, body = $("table").tBodies[0];
    head.innerHTML = "<tr>" + columns.map((c) => {
      const numeric = c === "range" || typeof (col(c) || []).find(known) === "number";
      const sort = c === sortColumn ? ' aria-sort="' + (state.sort.descending ? "descending" : "ascending") + '"' : "";
      return '<th scope="col" tabindex="0" title="' + esc(headerText(c, true)) + '" data-column="' + esc(c) + '"' + sort + ' class="' + (numeric ? "num" : c) + '">' + esc(headerText(c)) + "</th>";
    }).join("") + "</tr>";
    let shown = rows.slice(0, MAX_ROWS);
    const sel = selectedIndex();
    if (sel >= 0 && rows.includes(sel) && !shown.includes(sel)) shown = shown.concat([sel]);
    const html = [];
    for (const i of shown) {
      html.push('<tr tabindex="0" data-index="' + i + '"' + (i === sel ? ' class="selected" aria-selected="true"' : "") + ">" +
        columns.map((c) => tableCell(c, i)).join("") + "</tr>");
    }
    body.innerHTML = html.join("");
    $("tablenote").textContent = rows.length > shown.length ? t("shown", { n: fmt(shown.length, 0), m: fmt(rows.length, 0) }) : countText(rows.length);
    const row = body.querySelector("tr.selected");
    if (row && !isPhone()) row.scrollIntoView({ block: "nearest" });
  }
  function csvColumns() {
    // the view's columns, with the parent areas, the score's range, the rank (and its
    // range) and the drivers of the theme's score
    const columns = ["naam", "code"];
    if (state.level !== "gemeente" && has("wijkcode") && state.level === "buurt" && DATA.levels.wijk) columns.push("parent_wijk");
    if (state.level !== "gemeente" && has("gemeentecode") && DATA.levels.gemeente) columns.push("parent_gemeente");
    if (state.layer) columns.push(state.layer);
    const theme = state.theme;
    if (theme !== "none" && has("risk_low_" + theme)) columns.push("risk_" + theme, "risk_low_" + theme, "risk_high_" + theme);
    columns.push(...rankColumns(theme));
    if (theme !== "none" && has("drivers_" + theme)) columns.push("drivers_up", "drivers_down");
    return [...new Set(columns)];
  }
  function csvHeader(c) {
    if (c === "parent_wijk") return t("parentWijk");
    if (c === "parent_gemeente") return t("parentGemeente");
    if (c === "drivers_up") return t("driversUp");
    if (c === "drivers_down") return t("driversDown");
    if (/^risk_low_/.test(c)) return layerLabel("risk_" + c.slice(9)) + ", " + t("low");
    if (/^risk_high_/.test(c)) return layerLabel("risk_" + c.slice(10)) + ", " + t("high");
    return headerText(c, true);
  }
  function csvValue(c, i) {
    const number = (v) => (state.lang === "en" ? String(v) : String(v).replace(".", ","));
    const value = col(c) ? col(c)[i] : null;
    if (typeof value === "number") return number(value);
    // a text a spreadsheet would read as a formula is written as text
    const text = csvTextOf(c, i, value);
    return /^[=+\-@\t\r]/.test(text) ? "'" + text : text;
  }
  function csvTextOf(c, i, value) {
    if (c === "parent_wijk" || c === "parent_gemeente") {
      const p = parents(i).find((x) => x.level === c.slice(7));
      return p ? p.name : "";
    }
    if (c === "drivers_up" || c === "drivers_down") return joinList(driverParts(col("drivers_" + state.theme)[i])[c.slice(8)]);
    if (!known(value)) return c === "naam" || c === "code" ? "" : withheldText(c, i);
    if (["hotspot", "lisa", "trend"].includes(c.split("_")[0]) && !(c in INDICATORS)) return classLabel(c.split("_")[0], value);
    return String(value);
  }
  function csvText() {
    const columns = csvColumns(), rows = tableRows();
    const sep = state.lang === "en" ? "," : ";";
    // quoted where it holds the separator, a quote or a line break (a Dutch decimal
    // comma needs no quotes beside the ";")
    const quote = (s) => (s.includes(sep) || /["\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s);
    const lines = [columns.map((c) => quote(csvHeader(c))).join(sep)];
    for (const i of rows) lines.push(columns.map((c) => quote(csvValue(c, i))).join(sep));
    return "\ufeff" + lines.join("\r\n") + "\r\n";
  }
  function downloadCsv() {
    const blob = new Blob([csvText()], { type: "text/csv;charset=utf-8" });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = "zicht-" + state.level + "-" + (state.layer || "gebieden") + ".csv";
    document.body.appendChild(link); link.click(); link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  }

  // ---- profile -----------------------------------------------------------------
  function parents(i, level) {
    // the wijk and gemeente an area lies in, as far as the page holds them
    level = level || state.level;
    const out = [];
    for (const [parent, column] of [["wijk", "wijkcode"], ["gemeente", "gemeentecode"]]) {
      const order = META.levels.map((l) => l.id);
      if (order.indexOf(parent) >= order.indexOf(level) || !DATA.levels[parent]) continue;
      const code = (col(column, level) || [])[i], j = code ? indexOf(code, parent) : -1;
      if (j >= 0) out.push({ level: parent, index: j, name: col("naam", parent)[j] || code });
    }
    return out;
  }
  function wholeRun(id) {
    // a count or sum: the sum of the gemeenten (only where none is withheld); a rate
    // or share: its published numerator over its published denominator
    const top = META.levels[0].id, row = INDICATORS[id];
    const sum = (name) => {
      const values = col(name, top);
      if (!values || values.some((v) => v === null || v === undefined)) return null;
      return values.reduce((a, b) => a + b, 0);
    };
    if (!row) return null;
    if (row.kind === "count" || row.kind === "sum") return sum(id);
    if ((row.kind === "rate" || row.kind === "share") && row.numerator && row.denominator) {
      const n = sum(row.numerator), d = sum(row.denominator);
      return n !== null && d ? (n / d) * (row.per || 100) : null;
    }
    return null;
  }
  function similarAreas(i) {
    const level = state.level, by = META.similar_by[level] || [];
    if (!by.length) return null;
    const n = codes(level).length;
    const scaled = by.map((c) => {
      const v = col(c).map((x) => (x === null || x === undefined ? null : Math.log1p(Math.max(x, 0))));
      const known = v.filter((x) => x !== null);
      const mean = known.reduce((a, b) => a + b, 0) / Math.max(known.length, 1);
      const sd = Math.sqrt(known.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(known.length - 1, 1)) || 1;
      return v.map((x) => (x === null ? null : (x - mean) / sd));
    });
    const mine = scaled.map((v) => v[i]);
    const usable = mine.filter((x) => x !== null).length;
    if (usable < Math.min(2, by.length)) return null;
    const scored = [];
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      let d = 0, k = 0;
      scaled.forEach((v, c) => { if (mine[c] !== null && v[j] !== null) { d += (v[j] - mine[c]) ** 2; k += 1; } });
      if (k >= Math.max(1, Math.ceil(usable / 2))) scored.push([d / k, j]);
    }
    scored.sort((a, b) => a[0] - b[0]);
    return { by, areas: scored.slice(0, 5).map((s) => s[1]) };
  }
  function deviations(i, peers) {
    const found = [];
    for (const row of DATA.indicators) {
      if (!row.theme || row.theme === "none" || !["rate", "share", "mean"].includes(row.kind)) continue;
      const values = col(row.id);
      if (!values || values[i] === null || values[i] === undefined) continue;
      const peer = peers.map((j) => values[j]).filter((v) => v !== null && v !== undefined);
      if (peer.length < 2) continue;
      const known = values.filter((v) => v !== null && v !== undefined);
      const mean = known.reduce((a, b) => a + b, 0) / known.length;
      const sd = Math.sqrt(known.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(known.length - 1, 1));
      if (!sd) continue;
      const peerMean = peer.reduce((a, b) => a + b, 0) / peer.length;
      found.push({ id: row.id, z: (values[i] - peerMean) / sd, peerMean, value: values[i] });
    }
    found.sort((a, b) => Math.abs(b.z) - Math.abs(a.z));
    return found.slice(0, 5);
  }
  function yearChart(series, i) {
    const points = series.years.map(([year, id]) => [year, (col(id) || [])[i]]);
    const known = points.filter((p) => p[1] !== null && p[1] !== undefined);
    if (!known.length) return "";
    const w = 260, h = 70, pad = 16, max = Math.max(...known.map((p) => p[1]), 1);
    const step = (w - 2 * pad) / Math.max(points.length, 1);
    let svg = '<svg class="chart" width="' + w + '" height="' + (h + 14) + '" role="img" aria-label="' + esc(series[state.lang]) + '">';
    points.forEach(([year, v], k) => {
      const x = pad + k * step + 3;
      if (v === null || v === undefined) {
        svg += '<rect x="' + x + '" y="' + (h - 12) + '" width="' + (step - 6) + '" height="12" fill="url(#none)" stroke="#aaa" stroke-dasharray="2"><title>' + year + ": " + esc(t("withheldOrNone")) + "</title></rect>";
      } else {
        const bh = Math.max(1, (v / max) * (h - 14));
        svg += '<rect x="' + x + '" y="' + (h - bh) + '" width="' + (step - 6) + '" height="' + bh + '" fill="#3182bd"><title>' + year + ": " + esc(fmt(v)) + "</title></rect>";
        svg += '<text x="' + (x + (step - 6) / 2) + '" y="' + (h - bh - 2) + '" font-size="9" text-anchor="middle">' + esc(fmt(v)) + "</text>";
      }
      svg += '<text x="' + (x + (step - 6) / 2) + '" y="' + (h + 11) + '" font-size="10" text-anchor="middle">' + year + "</text>";
    });
    return svg + "</svg>";
  }
  function skillText(theme) {
    const skill = (META.skill || {})[theme];
    if (!skill || !known(skill.spearman)) return "";
    return t("skill", { r: fmt(skill.spearman, 2), level: levelName(skill.level).toLowerCase() });
  }
  function scoresHtml(i) {
    const scores = META.themes.filter((th) => has("risk_" + th.id));
    if (!scores.length) return "";
    let html = "<h3>" + esc(t("scores")) + '</h3><div class="scroll"><table class="scores"><tbody>';
    for (const th of scores) {
      const classes = ["hotspot", "lisa"].map((kind) => (col(kind + "_" + th.id) || [])[i])
        .map((v, k) => (v && v !== "not significant" ? classLabel(k ? "lisa" : "hotspot", v) : "")).filter(Boolean);
      const r = scoreRange(th.id, i), rank = rankHtml(th.id, i);
      html += '<tr><th scope="row">' + esc(th[state.lang]) + '</th><td class="num"><strong>' + cellHtml("risk_" + th.id, i, state.level, true) + "</strong></td><td>" +
        (r ? rangeBar(r[0], r[1], col("risk_" + th.id)[i]) : "") + "</td><td>" + (rank ? esc(t("rank")) + " " + rank + " / " + esc(fmt(codes().length, 0)) : "") +
        "</td><td>" + esc(classes.join(", ")) + "</td></tr>";
      const drivers = driverText((col("drivers_" + th.id) || [])[i]);
      if (drivers) html += '<tr><td colspan="5" class="drivers">' + esc(drivers) + "</td></tr>";
      const skill = skillText(th.id);
      if (skill && th.id === state.theme) html += '<tr><td colspan="5" class="drivers">' + esc(skill) + "</td></tr>";
    }
    return html + "</tbody></table></div>";
  }
  function figuresHtml(i, ups) {
    let html = "<h3>" + esc(t("indicators")) + '</h3><div class="scroll"><table><thead><tr><th></th><th class="num">' + esc(t("area")) + "</th>";
    for (const p of ups) html += '<th class="num">' + esc(t(p.level)) + "</th>";
    html += '<th class="num">' + esc(t("all")) + "</th></tr></thead><tbody>";
    const inSeries = new Set(DATA.series.flatMap((s) => s.years.map((y) => y[1])));
    for (const row of DATA.indicators) {
      if (!has(row.id) || inSeries.has(row.id)) continue;
      if ((row.theme || "none") !== state.theme) continue;
      html += "<tr><td>" + esc(label(row.id)) + '</td><td class="num">' + cellHtml(row.id, i) + "</td>";
      for (const p of ups) html += '<td class="num">' + cellHtml(row.id, p.index, p.level) + "</td>";
      const whole = wholeRun(row.id);
      html += '<td class="num">' + (whole === null ? "–" : esc(valueText(row.id, whole))) + "</td></tr>";
    }
    return html + "</tbody></table></div>";
  }
  function similarHtml(i) {
    const similar = similarAreas(i), plural = levelName(state.level).toLowerCase();
    if (!similar) return "<h3>" + esc(t("similar", { level: plural })) + "</h3><p>" + esc(t("noSimilar")) + "</p>";
    let html = '<h3 id="similar">' + esc(t("similar", { level: plural })) + '</h3><p class="sub">' + esc(t("similarBy", { what: joinList(similar.by.map(label)) })) + "</p><ul>";
    for (const j of similar.areas) html += '<li><a href="#" data-code="' + esc(codes()[j]) + '">' + esc(col("naam")[j] || codes()[j]) + "</a> (" + esc(codes()[j]) + ")</li>";
    html += "</ul><h3>" + esc(t("deviates", { level: plural })) + "</h3>";
    const found = deviations(i, similar.areas);
    if (!found.length) return html + "<p>" + esc(t("noDeviation")) + "</p>";
    html += "<ul>";
    for (const d of found) {
      const up = d.z > 0;
      html += '<li><span class="' + (up ? "dev-up" : "dev-down") + '">' + esc(label(d.id)) + ": " + esc(valueText(d.id, d.value)) + ", " +
        esc(up ? t("higher") : t("lower")) + "</span> " + esc(t("than", { value: valueText(d.id, d.peerMean) })) + "</li>";
    }
    return html + "</ul>";
  }
  function renderProfile() {
    const box = $("profile"), i = selectedIndex();
    if (i < 0) { box.innerHTML = "<p>" + esc(t("pick")) + "</p>"; return; }
    const ups = parents(i);
    let html = "<h2>" + esc(col("naam")[i] || state.selected) + '</h2><p class="sub">' + esc(levelName(state.level)) + " · " + esc(state.selected);
    for (const p of ups) html += " · " + esc(p.name);
    html += "</p>";
    const inCompare = state.compare.includes(state.selected);
    const full = !inCompare && state.compare.length >= MAX_COMPARE;
    html += '<p><button type="button" id="compareadd"' + (full ? " disabled" : "") + ">" + esc(t(inCompare ? "compareRemove" : "compareAdd")) + "</button>" +
      (full ? ' <span class="sub">' + esc(t("compareFull")) + "</span>" : "") + "</p>";
    html += scoresHtml(i) + figuresHtml(i, ups);
    const series = DATA.series.filter((s) => s.years.some(([, id]) => has(id)));
    if (series.length) {
      html += "<h3>" + esc(t("years")) + "</h3>";
      for (const s of series) html += "<div>" + esc(s[state.lang]) + "</div>" + yearChart(s, i);
    }
    box.innerHTML = html + similarHtml(i);
  }

  // ---- comparison of chosen areas ------------------------------------------------
  function compareRows() {
    // per theme its score (with range), rank and classes; the trends; then the
    // current theme's indicators
    const rows = [];
    for (const th of META.themes) {
      if (!has("risk_" + th.id)) continue;
      rows.push({ head: th[state.lang], cell: (i) => cellHtml("risk_" + th.id, i, state.level, true) + (scoreRange(th.id, i) ? " " + rangeBar(...scoreRange(th.id, i), col("risk_" + th.id)[i]) : "") });
      for (const kind of ["hotspot", "lisa"]) if (has(kind + "_" + th.id)) rows.push({ head: layerLabel(kind + "_" + th.id), cell: (i) => cellHtml(kind + "_" + th.id, i) });
    }
    for (const trend of META.trends || []) if (has("trend_" + trend.id)) rows.push({ head: layerLabel("trend_" + trend.id), cell: (i) => cellHtml("trend_" + trend.id, i) });
    for (const row of DATA.indicators) {
      if (!has(row.id) || (row.theme || "none") !== state.theme) continue;
      rows.push({ head: label(row.id), cell: (i) => cellHtml(row.id, i) });
    }
    return rows;
  }
  function renderCompare() {
    const box = $("comparebody");
    const chosen = state.compare.map((c) => [c, indexOf(c)]).filter(([, i]) => i >= 0);
    if (!chosen.length) { box.innerHTML = '<p class="sub">' + esc(t("compareHelp")) + "</p>"; return; }
    let html = '<div class="scroll"><table class="compare"><thead><tr><th></th>';
    for (const [code, i] of chosen) {
      html += '<th scope="col"><a href="#" data-code="' + esc(code) + '">' + esc(col("naam")[i] || code) + '</a> <button type="button" class="remove" data-remove="' +
        esc(code) + '" aria-label="' + esc(t("compareRemove") + ": " + (col("naam")[i] || code)) + '">×</button></th>';
    }
    html += "</tr></thead><tbody>";
    for (const row of compareRows()) {
      html += '<tr><th scope="row">' + esc(row.head) + "</th>" + chosen.map(([, i]) => "<td>" + row.cell(i) + "</td>").join("") + "</tr>";
    }
    html += '</tbody></table></div><p><button type="button" id="compareclear">' + esc(t("compareClear")) + "</button></p>";
    box.innerHTML = html;
  }
  function toggleCompare(code) {
    const k = state.compare.indexOf(code);
    if (k >= 0) state.compare.splice(k, 1);
    else if (state.compare.length < MAX_COMPARE) state.compare.push(code);
    renderProfile(); renderCompare(); writeHash();
  }

  // ---- the view in the address: a link reopens it ---------------------------------
  function writeHash() {
    const p = new URLSearchParams();
    p.set("niveau", state.level); p.set("thema", state.theme);
    if (state.layer) p.set("kaart", state.layer);
    if (state.selected) p.set("gebied", state.selected);
    if (state.compare.length) p.set("vergelijk", state.compare.join(","));
    if (state.filter) p.set("zoek", state.filter);
    if (state.lang !== (META.language === "en" ? "en" : "nl")) p.set("taal", state.lang);
    const hash = "#" + p.toString();
    if (location.hash === hash) return;
    try { history.replaceState(null, "", hash); } catch (error) { location.replace(hash); }
  }
  function readHash() {
    const p = new URLSearchParams(location.hash.slice(1));
    const level = p.get("niveau"), theme = p.get("thema");
    if (level && DATA.levels[level]) state.level = level;
    if (theme && themesWithLayers().includes(theme)) state.theme = theme;
    if (p.get("kaart") && has(p.get("kaart"))) state.layer = p.get("kaart");
    if (p.get("taal") === "en" || p.get("taal") === "nl") state.lang = p.get("taal");
    if (p.get("zoek")) { state.filter = p.get("zoek"); $("filter").value = state.filter; }
    state.compare = (p.get("vergelijk") || "").split(",").filter((c) => c && indexOf(c) >= 0).slice(0, MAX_COMPARE);
    const area = p.get("gebied");
    state.selected = area && indexOf(area) >= 0 ? area : null;
  }

  // ---- interaction ----------------------------------------------------------------
  function isPhone() { return window.matchMedia("(max-width: 700px)").matches; }
  function select(code, move) {
    state.selected = code;
    const i = selectedIndex();
    if (i >= 0) state.focus = i;
    if (i >= 0 && move) showArea(i);
    renderTable(); renderProfile(); redraw(); writeHash();
  }
  function showTooltip(i, px, py) {
    const tip = $("tooltip");
    if (i < 0) { tip.hidden = true; return; }
    const name = col("naam")[i] || "", code = codes()[i];
    tip.innerHTML = "<b>" + esc(name) + "</b>" + esc(code) + "<br>" + esc(layerLabel(state.layer)) + ': <span class="value">' + cellHtml(state.layer, i) + "</span>";
    tip.hidden = false;
    const box = $("mapbox").getBoundingClientRect();
    tip.style.left = Math.max(4, Math.min(px + 14, box.width - tip.offsetWidth - 4)) + "px";
    tip.style.top = Math.max(4, Math.min(py + 14, box.height - tip.offsetHeight - 4)) + "px";
  }
  function zoomAt(factor, px, py) {
    view.tx = px - (px - view.tx) * factor;
    view.ty = py - (py - view.ty) * factor;
    view.scale *= factor;
    redraw();
  }
  function neighbourTowards(from, dx, dy) {
    // the nearest area whose label point lies in the direction (dx, dy) on the screen,
    // within 60 degrees of it; nearer to the line counts more
    const points = DATA.levels[state.level].points, [a, d] = gridTransform(state.level);
    const p = points[from];
    let best = -1, bestScore = Infinity;
    for (let j = 0; j < points.length; j++) {
      if (j === from) continue;
      const x = (points[j][0] - p[0]) * a, y = (points[j][1] - p[1]) * d;
      const along = x * dx + y * dy, dist = Math.hypot(x, y);
      if (along <= 0 || along < dist * 0.5) continue;
      const score = dist + 2 * Math.sqrt(Math.max(dist * dist - along * along, 0));
      if (score < bestScore) { bestScore = score; best = j; }
    }
    return best;
  }
  function centreArea() {
    const w = canvas.clientWidth / 2, h = canvas.clientHeight / 2;
    const hit = featureAt(w, h);
    if (hit >= 0) return hit;
    const points = DATA.levels[state.level].points;
    let best = 0, bestDist = Infinity;
    points.forEach((p, j) => { const [x, y] = screenOf(state.level, p[0], p[1]); const dd = Math.hypot(x - w, y - h); if (dd < bestDist) { bestDist = dd; best = j; } });
    return best;
  }
  function moveFocus(dx, dy) {
    const from = state.focus >= 0 ? state.focus : -1;
    const next = from < 0 ? centreArea() : neighbourTowards(from, dx, dy);
    if (next < 0) return;
    state.focus = next;
    if (!onScreen(next)) showArea(next);
    const value = cellHtml(state.layer, next).replace(/<[^>]+>/g, "");
    $("mapstatus").textContent = t("focusAt", { name: col("naam")[next] || codes()[next], value });
    const p = DATA.levels[state.level].points[next], [x, y] = screenOf(state.level, p[0], p[1]);
    showTooltip(next, x, y);
  }
  function mapKey(ev) {
    const step = 60, w = canvas.clientWidth / 2, h = canvas.clientHeight / 2;
    const arrows = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    if (arrows[ev.key]) {
      ev.preventDefault();
      const [dx, dy] = arrows[ev.key];
      if (ev.shiftKey) { view.tx -= dx * step; view.ty -= dy * step; } else moveFocus(dx, dy);
      redraw();
      return;
    }
    if ((ev.key === "Enter" || ev.key === " ") && state.focus >= 0) {
      ev.preventDefault();
      select(codes()[state.focus], false);
      return;
    }
    const keys = { "+": () => zoomAt(1.25, w, h), "=": () => zoomAt(1.25, w, h), "-": () => zoomAt(0.8, w, h), "0": resetView };
    if (keys[ev.key]) { ev.preventDefault(); keys[ev.key](); redraw(); }
  }
  let drag = null;
  canvas.addEventListener("mousedown", (ev) => { drag = { x: ev.offsetX, y: ev.offsetY, moved: false }; canvas.style.cursor = "grabbing"; });
  window.addEventListener("mouseup", () => { canvas.style.cursor = "grab"; setTimeout(() => { drag = null; }, 0); });
  canvas.addEventListener("mousemove", (ev) => {
    if (drag && (ev.buttons & 1)) {
      const dx = ev.offsetX - drag.x, dy = ev.offsetY - drag.y;
      if (drag.moved || Math.abs(dx) + Math.abs(dy) > 4) {
        drag.moved = true; view.tx += dx; view.ty += dy; drag.x = ev.offsetX; drag.y = ev.offsetY;
        $("tooltip").hidden = true; redraw(); return;
      }
    }
    const i = featureAt(ev.offsetX, ev.offsetY);
    if (i !== state.hover) { state.hover = i; redraw(); }
    showTooltip(i, ev.offsetX, ev.offsetY);
  });
  canvas.addEventListener("mouseleave", () => { state.hover = -1; $("tooltip").hidden = true; redraw(); });
  canvas.addEventListener("click", (ev) => {
    if (drag && drag.moved) return;
    const i = featureAt(ev.offsetX, ev.offsetY);
    if (i >= 0) select(codes()[i], false);
  });
  canvas.addEventListener("wheel", (ev) => { ev.preventDefault(); zoomAt(ev.deltaY < 0 ? 1.25 : 0.8, ev.offsetX, ev.offsetY); }, { passive: false });
  canvas.addEventListener("keydown", mapKey);
  canvas.addEventListener("blur", () => { $("tooltip").hidden = true; });
  $("zoomin").addEventListener("click", () => zoomAt(1.4, canvas.clientWidth / 2, canvas.clientHeight / 2));
  $("zoomout").addEventListener("click", () => zoomAt(1 / 1.4, canvas.clientWidth / 2, canvas.clientHeight / 2));
  $("zoomreset").addEventListener("click", () => { resetView(); redraw(); });
  $("level").addEventListener("change", (ev) => {
    const previous = state.layer;
    state.level = ev.target.value; state.hover = -1; state.focus = -1;
    if (state.selected && indexOf(state.selected) < 0) state.selected = null;
    state.layer = previous;
    resetView(); refresh();
  });
  $("theme").addEventListener("change", (ev) => {
    const kind = (state.layer || "").split("_")[0];
    state.theme = ev.target.value;
    state.layer = ["risk", "hotspot", "lisa"].includes(kind) && has(kind + "_" + state.theme) ? kind + "_" + state.theme : null;
    refresh();
  });
  $("layer").addEventListener("change", (ev) => { state.layer = ev.target.value; state.sort.column = null; refresh(); });
  $("year").addEventListener("change", (ev) => { state.layer = ev.target.value; refresh(); });
  $("lang").addEventListener("click", () => { state.lang = state.lang === "nl" ? "en" : "nl"; refresh(); });
  $("filter").addEventListener("input", (ev) => { state.filter = ev.target.value; renderTable(); writeHash(); });
  $("csv").addEventListener("click", downloadCsv);
  $("sheets").addEventListener("click", (ev) => {
    const button = ev.target.closest("button[data-sheet]");
    if (button) $(button.dataset.sheet).scrollIntoView({ block: "start", behavior: "smooth" });
  });
  $("table").addEventListener("click", (ev) => {
    const th = ev.target.closest("th");
    if (th) { sortBy(th.dataset.column); return; }
    const tr = ev.target.closest("tr[data-index]");
    if (tr) select(codes()[Number(tr.dataset.index)], true);
  });
  $("table").addEventListener("keydown", (ev) => {
    const tr = ev.target.closest("tr[data-index]");
    if (tr && (ev.key === "ArrowDown" || ev.key === "ArrowUp")) {
      const next = ev.key === "ArrowDown" ? tr.nextElementSibling : tr.previousElementSibling;
      if (next) { ev.preventDefault(); next.focus(); }
      return;
    }
    if (ev.key !== "Enter" && ev.key !== " ") return;
    const th = ev.target.closest("th");
    if (th) { ev.preventDefault(); sortBy(th.dataset.column); return; }
    if (tr) {
      ev.preventDefault();
      const index = tr.dataset.index;
      select(codes()[Number(index)], true);
      const again = $("table").querySelector('tr[data-index="' + index + '"]');
      if (again) again.focus();
    }
  });
  $("table").addEventListener("mouseover", (ev) => {
    const tr = ev.target.closest("tr[data-index]");
    const i = tr ? Number(tr.dataset.index) : -1;
    if (i !== state.hover) { state.hover = i; redraw(); }
  });
  for (const id of ["profile", "comparebody"]) {
    $(id).addEventListener("click", (ev) => {
      const link = ev.target.closest("a[data-code]");
      if (link) { ev.preventDefault(); select(link.dataset.code, true); return; }
      const remove = ev.target.closest("button[data-remove]");
      if (remove) { toggleCompare(remove.dataset.remove); return; }
      if (ev.target.closest("#compareadd")) toggleCompare(state.selected);
      if (ev.target.closest("#compareclear")) { state.compare = []; renderProfile(); renderCompare(); writeHash(); }
    });
  }
  function sortBy(column) {
    const current = state.sort.column || state.layer;
    state.sort = { column, descending: current === column ? !state.sort.descending : column !== "naam" && column !== "code" };
    renderTable();
  }
  function refresh() {
    $("tooltip").hidden = true;
    syncControls(); renderLegend(); renderTable(); renderProfile(); renderCompare(); renderFooter(); redraw(); writeHash();
  }
  window.addEventListener("resize", () => { resize(); redraw(); });
  window.addEventListener("hashchange", () => { readHash(); refresh(); });

  // a small interface for tests and for users who script the page
  window.zicht = {
    state,
    select: (code) => select(code, true),
    setLevel: (level) => { $("level").value = level; $("level").dispatchEvent(new Event("change")); },
    setTheme: (theme) => { $("theme").value = theme; $("theme").dispatchEvent(new Event("change")); },
    setLayer: (layer) => { $("layer").value = layer; $("layer").dispatchEvent(new Event("change")); },
    compare: (code) => toggleCompare(code),
    screenPoint: (code) => {
      const i = indexOf(code);
      if (i < 0) return null;
      const p = DATA.levels[state.level].points[i], [x, y] = screenOf(state.level, p[0], p[1]);
      const box = canvas.getBoundingClientRect();
      return [box.left + x, box.top + y];
    },
    csv: csvText,
  };

  if (isPhone()) $("legendbox").open = false;
  readHash();
  resize();
  resetView();
  if (selectedIndex() >= 0) showArea(selectedIndex());
  syncControls();
  draw();
  renderLegend(); renderTable(); renderProfile(); renderCompare(); renderFooter();
})();
