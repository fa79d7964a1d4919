// zicht dashboard: draws the published layers embedded in this page on a canvas.
// Everything it shows comes from the JSON block "zicht-data" (the GeoPackage's
// published columns); it computes comparisons from those figures only, and makes no
// request to any host.
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
  const WORDS = {
    nl: {
      level: "Niveau", theme: "Thema", layer: "Kaartlaag", csv: "CSV", filter: "Zoek op naam of code",
      maphelp: "Slepen of pijltjestoetsen: verschuiven. Scrollen of +/-: zoomen. Klik een gebied voor het profiel.",
      risk: "Risicoscore", hotspot: "Hotspots (Gi*)", lisa: "LISA-clusters", trend: "Trend",
      context: "Context (geen thema)", withheld: "onderdrukt", withheldOrNone: "onderdrukt of geen cijfer",
      noScore: "geen score (gebiedsregel of te weinig cijfers)", name: "Naam", code: "Code", value: "Waarde",
      rank: "Rang", shown: "{n} van {m} gebieden; filter om de rest te zien",
      count: "{n} gebieden", pick: "Klik op de kaart of in de tabel om een gebied te bekijken.",
      indicators: "Cijfers", area: "Dit gebied", wijk: "Wijk", gemeente: "Gemeente", all: "Hele run",
      scores: "Risicoscores", range: "bereik", drivers: "Vooral door", years: "Per jaar",
      similar: "Vergelijkbare {level}", similarBy: "vergelijkbaar naar {what}",
      deviates: "Waar het afwijkt van vergelijkbare {level}", higher: "hoger", lower: "lager",
      than: "dan gemiddeld {value} in vergelijkbare gebieden", noSimilar: "Te weinig gepubliceerde contextcijfers om te vergelijken.",
      noDeviation: "Geen gepubliceerde cijfers om te vergelijken.",
      synthetic: "Let op: de thema's {themes} zijn berekend op synthetische (nep)gegevens, alleen voor demonstratie.",
      source: "Bron", created: "gemaakt",
      lang: "EN", langLabel: "English", zoomin: "zoom in", zoomout: "zoom uit", home: "hele kaart",
    },
    en: {
      level: "Level", theme: "Theme", layer: "Map layer", csv: "CSV", filter: "Search by name or code",
      maphelp: "Drag or arrow keys: pan. Scroll or +/-: zoom. Click an area for its profile.",
      risk: "Risk score", hotspot: "Hot spots (Gi*)", lisa: "LISA clusters", trend: "Trend",
      context: "Context (no theme)", withheld: "withheld", withheldOrNone: "withheld or no figure",
      noScore: "no score (area rule or too few figures)", name: "Name", code: "Code", value: "Value",
      rank: "Rank", shown: "{n} of {m} areas; filter to see the rest",
      count: "{n} areas", pick: "Click an area on the map or in the table to see it.",
      indicators: "Figures", area: "This area", wijk: "District", gemeente: "Municipality", all: "Whole run",
      scores: "Risk scores", range: "range", drivers: "Mostly because of", years: "Per year",
      similar: "Similar {level}", similarBy: "similar by {what}",
      deviates: "Where it differs from similar {level}", higher: "higher", lower: "lower",
      than: "than the mean {value} of similar areas", noSimilar: "Too few published context figures to compare.",
      noDeviation: "No published figures to compare.",
      synthetic: "Note: the themes {themes} are computed from synthetic (fake) data, for demonstration only.",
      source: "Source", created: "created",
      lang: "NL", langLabel: "Nederlands", zoomin: "zoom in", zoomout: "zoom out", home: "whole map",
    },
  };
  const RULES_EN = {
    "onderdrukt": "withheld",
    "gebiedsregel personen": "area rule persons",
    "gebiedsregel bedrijven": "area rule companies",
  };

  const state = {
    lang: META.language === "en" ? "en" : "nl",
    level: META.levels[META.levels.length - 1].id,
    theme: META.themes.length ? META.themes[0].id : "none",
    layer: null,
    selected: null,
    hover: -1,
    filter: "",
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
  function classLabel(kind, code) {
    const labels = (META.classes[kind] || {})[code];
    return labels ? labels[state.lang === "en" ? 1 : 0] : code;
  }
  function col(name, level) { return DATA.levels[level || state.level].columns[name]; }
  function has(name, level) { return col(name, level) !== undefined; }

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
  function toGrid(level, x, y) { const g = decode(level); return [(x - g.origin[0]) / g.quantum, (y - g.origin[1]) / g.quantum]; }

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

  // ---- colours ---------------------------------------------------------------
  let hatch = null;
  function hatchPattern() {
    if (hatch) return hatch;
    const tile = document.createElement("canvas");
    tile.width = tile.height = 8;
    const c = tile.getContext("2d");
    c.fillStyle = "#f7f7f7"; c.fillRect(0, 0, 8, 8);
    c.strokeStyle = "#b5b5b5"; c.lineWidth = 1.5;
    c.beginPath(); c.moveTo(0, 8); c.lineTo(8, 0); c.moveTo(-2, 2); c.lineTo(2, -2); c.moveTo(6, 10); c.lineTo(10, 6); c.stroke();
    hatch = ctx.createPattern(tile, "repeat");
    return hatch;
  }
  function legendOf(column, level) { return DATA.levels[level || state.level].legends[column]; }
  function colourOf(column, value, level) {
    const legend = legendOf(column, level);
    if (!legend || value === null || value === undefined) return null;
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
  function draw() {
    const dpr = window.devicePixelRatio || 1;
    const level = state.level, g = decode(level);
    const [a, d, e, f] = gridTransform(level);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.setTransform(a * dpr, 0, 0, d * dpr, e * dpr, f * dpr);
    const values = col(state.layer) || [];
    const pattern = hatchPattern();
    pattern.setTransform(ctx.getTransform().inverse());
    for (let i = 0; i < g.paths.length; i++) {
      ctx.fillStyle = colourOf(state.layer, values[i]) || pattern;
      ctx.fill(g.paths[i], "evenodd");
    }
    ctx.lineWidth = 0.5 / Math.abs(a);
    ctx.strokeStyle = "rgba(60,60,60,0.55)";
    ctx.stroke(g.outline);
    if (state.hover >= 0) {
      ctx.lineWidth = 2 / Math.abs(a); ctx.strokeStyle = "#333"; ctx.stroke(g.paths[state.hover]);
    }
    const sel = selectedIndex();
    if (sel >= 0) {
      ctx.lineWidth = 3.5 / Math.abs(a); ctx.strokeStyle = "#00e5ff"; ctx.stroke(g.paths[sel]);
      ctx.lineWidth = 1.5 / Math.abs(a); ctx.strokeStyle = "#000"; ctx.stroke(g.paths[sel]);
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
  function indexOf(code, level) { return codes(level).indexOf(code); }
  function selectedIndex() { return state.selected ? indexOf(state.selected) : -1; }

  // ---- text for one area and column ------------------------------------------
  function isScoreColumn(column) { return /^(risk|hotspot|lisa|trend|rank|drivers)_/.test(column); }
  function ruleText(i, level) {
    const text = (col("suppression", level) || [])[i];
    if (!text) return "";
    return text.split("; ").map((r) => (state.lang === "en" ? RULES_EN[r] || r : r)).join("; ");
  }
  function withheldText(column, i, level) {
    const rules = ruleText(i, level);
    const ruled = /area rule|gebiedsregel/.test(rules);
    if (isScoreColumn(column)) return ruled ? t("noScore") + ": " + rules : t("noScore");
    return ruled ? t("withheld") + " (" + rules + ")" : t("withheldOrNone");
  }
  function valueText(column, value) {
    const kind = column.split("_")[0];
    if (["hotspot", "lisa", "trend"].includes(kind) && !(column in INDICATORS)) return classLabel(kind, value);
    if (typeof value === "number") {
      // units are written in Dutch only: an English page shows the bare number
      const unit = INDICATORS[column] && state.lang === "nl" ? INDICATORS[column].unit || "" : "";
      const digits = column.startsWith("risk_") ? 1 : undefined;
      return fmt(value, digits) + (unit && unit !== "%" ? " " + unit : unit === "%" ? "%" : "");
    }
    return String(value);
  }
  function layerLabel(column) {
    const m = /^(risk|hotspot|lisa)_(.+)$/.exec(column);
    if (m && !(column in INDICATORS)) return t(m[1]) + " " + themeName(m[2]).toLowerCase();
    if (column.startsWith("trend_") && !(column in INDICATORS)) return t("trend") + ": " + label(column.slice(6));
    return label(column);
  }
  function cellHtml(column, i, level, bare) {
    const value = (col(column, level) || [])[i];
    if (value === null || value === undefined) return '<span class="withheld">' + esc(withheldText(column, i, level)) + "</span>";
    let text = esc(valueText(column, value));
    if (!bare && column.startsWith("risk_") && !column.startsWith("risk_low_") && !column.startsWith("risk_high_")) {
      const theme = column.slice(5), lo = (col("risk_low_" + theme, level) || [])[i], hi = (col("risk_high_" + theme, level) || [])[i];
      if (lo !== null && lo !== undefined && hi !== null && hi !== undefined && hi - lo > 0.05) text += ' <small class="range">(' + t("range") + " " + fmt(lo, 1) + "–" + fmt(hi, 1) + ")</small>";
    }
    return text;
  }
  function esc(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  }

  // ---- controls ----------------------------------------------------------------
  function layerOptions() {
    const options = [];
    const theme = state.theme;
    if (theme !== "none") {
      for (const kind of ["risk", "hotspot", "lisa"]) if (has(kind + "_" + theme)) options.push(kind + "_" + theme);
    }
    for (const row of DATA.indicators) {
      if ((row.theme || "none") !== theme) continue;
      if (has("trend_" + row.id)) options.push("trend_" + row.id);
    }
    for (const row of DATA.indicators) {
      if ((row.theme || "none") === theme && has(row.id)) options.push(row.id);
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
    fillSelect($("layer"), options.map((c) => [c, layerLabel(c)]), state.layer);
    for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
    for (const el of document.querySelectorAll("[data-tp]")) el.placeholder = t(el.dataset.tp);
    $("lang").textContent = t("lang");
    $("lang").setAttribute("aria-label", t("langLabel"));
    $("zoomin").setAttribute("aria-label", t("zoomin"));
    $("zoomout").setAttribute("aria-label", t("zoomout"));
    $("zoomreset").setAttribute("aria-label", t("home"));
    document.documentElement.lang = state.lang;
    $("maptitle").textContent = state.layer ? layerLabel(state.layer) + " · " + levelName(state.level) : "";
    canvas.setAttribute("aria-label", $("maptitle").textContent);
  }
  function renderLegend() {
    const box = $("legend");
    const legend = state.layer ? legendOf(state.layer) : null;
    let html = "";
    if (legend && legend.type === "range") {
      for (const c of legend.classes) html += '<div><i style="background:' + c[2] + '"></i>' + esc(c[state.lang === "en" ? 4 : 3]) + "</div>";
    } else if (legend) {
      const present = new Set(col(state.layer));
      for (const c of legend.classes) if (present.has(c[0])) html += '<div><i style="background:' + c[1] + '"></i>' + esc(classLabel(legend.kind, c[0])) + "</div>";
    }
    const missing = state.layer && isScoreColumn(state.layer) ? t("noScore") : t("withheldOrNone");
    html += '<div><i class="hatch"></i>' + esc(missing) + "</div>";
    box.innerHTML = html;
  }
  function renderFooter() {
    const synthetic = [...new Set(DATA.indicators.filter((r) => r.synthetic === 1 && r.theme && r.theme !== "none").map((r) => r.theme))];
    let text = "";
    if (synthetic.length) text += t("synthetic", { themes: synthetic.map(themeName).join(", ") }) + " ";
    const source = META.attribution || "CBS";
    text += (/^(bron|source)\b/i.test(source) ? source : t("source") + ": " + source) + " · " + t("created") + " " + META.created;
    $("footer").textContent = text;
  }

  // ---- table -------------------------------------------------------------------
  function tableColumns() {
    const columns = ["naam", "code"];
    if (state.layer) columns.push(state.layer);
    if (state.theme !== "none" && has("rank_" + state.theme) && state.layer !== "rank_" + state.theme) columns.push("rank_" + state.theme);
    return columns;
  }
  function tableRows() {
    const level = state.level, names = col("naam"), all = codes(level);
    const needle = state.filter.trim().toLowerCase();
    let rows = [];
    for (let i = 0; i < all.length; i++) {
      if (needle && !(String(names[i] || "").toLowerCase().includes(needle) || all[i].toLowerCase().includes(needle))) continue;
      rows.push(i);
    }
    const sortColumn = state.sort.column || state.layer;
    if (sortColumn && has(sortColumn)) {
      const values = col(sortColumn), sign = state.sort.descending ? -1 : 1;
      rows.sort((a, b) => {
        const va = values[a], vb = values[b];
        if (va === null || va === undefined) return (vb === null || vb === undefined) ? 0 : 1;
        if (vb === null || vb === undefined) return -1;
        if (typeof va === "number" && typeof vb === "number") return sign * (va - vb);
        return sign * String(va).localeCompare(String(vb), state.lang);
      });
    }
    return rows;
  }
  function headerText(column, long) {
    if (column === "naam") return t("name");
    if (column === "code") return t("code");
    if (column.startsWith("rank_")) return t("rank");
    return long ? layerLabel(column) : t("value");
  }
  function renderTable() {
    const columns = tableColumns(), rows = tableRows();
    const sortColumn = state.sort.column || state.layer;
    const head = $("table").tHead, body = $("table").tBodies[0];
    head.innerHTML = "<tr>" + columns.map((c) => {
      const numeric = typeof (col(c) || []).find((v) => v !== null && v !== undefined) === "number";
      const sort = c === sortColumn ? ' aria-sort="' + (state.sort.descending ? "descending" : "ascending") + '"' : "";
      return '<th scope="col" tabindex="0" title="' + esc(headerText(c, true)) + '" data-column="' + esc(c) + '"' + sort + (numeric ? ' class="num"' : "") + ">" + esc(headerText(c)) + "</th>";
    }).join("") + "</tr>";
    let shown = rows.slice(0, MAX_ROWS);
    const sel = selectedIndex();
    if (sel >= 0 && rows.includes(sel) && !shown.includes(sel)) shown = shown.concat([sel]);
    const html = [];
    for (const i of shown) {
      html.push('<tr tabindex="0" data-index="' + i + '"' + (i === sel ? ' class="selected" aria-selected="true"' : "") + ">" +
        columns.map((c) => {
          const value = col(c)[i];
          const numeric = typeof value === "number";
          let text;
          if (c === "naam" || c === "code") text = esc(value || "");
          else if (c.startsWith("rank_")) text = value === null || value === undefined ? "" : fmt(value, 0);
          else text = cellHtml(c, i, state.level, true);
          return "<td" + (numeric ? ' class="num"' : "") + ">" + text + "</td>";
        }).join("") + "</tr>");
    }
    body.innerHTML = html.join("");
    $("tablenote").textContent = rows.length > shown.length ? t("shown", { n: fmt(shown.length, 0), m: fmt(rows.length, 0) }) : t("count", { n: fmt(rows.length, 0) });
    const row = body.querySelector("tr.selected");
    if (row) row.scrollIntoView({ block: "nearest" });
  }
  function csvText() {
    const columns = tableColumns(), rows = tableRows();
    const sep = state.lang === "en" ? "," : ";";
    const quote = (s) => (/[";,\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s);
    const lines = [columns.map((c) => quote(headerText(c, true))).join(sep)];
    for (const i of rows) {
      lines.push(columns.map((c) => {
        const value = col(c)[i];
        if (value === null || value === undefined) return quote(c === "naam" || c === "code" ? "" : withheldText(c, i));
        if (typeof value === "number") return state.lang === "en" ? String(value) : String(value).replace(".", ",");
        if (["hotspot", "lisa", "trend"].includes(c.split("_")[0]) && !(c in INDICATORS)) return quote(classLabel(c.split("_")[0], value));
        return quote(String(value));
      }).join(sep));
    }
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
  function parentIndex(i, column, level) {
    const code = (col(column) || [])[i];
    if (!code || !DATA.levels[level]) return -1;
    return indexOf(code, level);
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
  function renderProfile() {
    const box = $("profile"), i = selectedIndex(), level = state.level;
    if (i < 0) { box.innerHTML = "<p>" + esc(t("pick")) + "</p>"; return; }
    const name = col("naam")[i] || state.selected;
    let html = "<h2>" + esc(name) + "</h2><p class=\"sub\">" + esc(levelName(level)) + " · " + esc(state.selected);
    const wijk = has("wijkcode") && level === "buurt" && DATA.levels.wijk ? parentIndex(i, "wijkcode", "wijk") : -1;
    const gem = has("gemeentecode") && level !== "gemeente" && DATA.levels.gemeente ? parentIndex(i, "gemeentecode", "gemeente") : -1;
    if (wijk >= 0) html += " · " + esc(col("naam", "wijk")[wijk]);
    if (gem >= 0) html += " · " + esc(col("naam", "gemeente")[gem]);
    html += "</p>";
    // risk scores
    const scores = META.themes.filter((th) => has("risk_" + th.id));
    if (scores.length) {
      html += "<h3>" + esc(t("scores")) + '</h3><table class="scores"><tbody>';
      for (const th of scores) {
        const rank = (col("rank_" + th.id) || [])[i];
        const classes = ["hotspot", "lisa"].map((kind) => (col(kind + "_" + th.id) || [])[i])
          .map((v, k) => (v && v !== "not significant" ? classLabel(k ? "lisa" : "hotspot", v) : "")).filter(Boolean);
        html += "<tr><th scope=\"row\">" + esc(th[state.lang]) + '</th><td class="num"><strong>' + cellHtml("risk_" + th.id, i) + "</strong></td><td>" +
          (rank === null || rank === undefined ? "" : esc(t("rank")) + " " + fmt(rank, 0) + "/" + fmt(codes().length, 0)) + "</td><td>" + esc(classes.join(", ")) + "</td></tr>";
        const drivers = (col("drivers_" + th.id) || [])[i];
        if (drivers) html += '<tr><td colspan="4" class="drivers">' + esc(t("drivers")) + ": " + esc(drivers) + "</td></tr>";
      }
      html += "</tbody></table>";
    }
    // figures against the wijk, gemeente and the whole run
    html += "<h3>" + esc(t("indicators")) + "</h3><table><thead><tr><th></th><th class=\"num\">" + esc(t("area")) + "</th>";
    if (wijk >= 0) html += '<th class="num">' + esc(t("wijk")) + "</th>";
    if (gem >= 0) html += '<th class="num">' + esc(t("gemeente")) + "</th>";
    html += '<th class="num">' + esc(t("all")) + "</th></tr></thead><tbody>";
    const inSeries = new Set(DATA.series.flatMap((s) => s.years.map((y) => y[1])));
    for (const row of DATA.indicators) {
      if (!has(row.id) || inSeries.has(row.id)) continue;
      if (state.theme !== "none" && row.theme !== state.theme) continue;
      if (state.theme === "none" && row.theme && row.theme !== "none") continue;
      html += "<tr><td>" + esc(label(row.id)) + '</td><td class="num">' + cellHtml(row.id, i) + "</td>";
      if (wijk >= 0) html += '<td class="num">' + cellHtml(row.id, wijk, "wijk") + "</td>";
      if (gem >= 0) html += '<td class="num">' + cellHtml(row.id, gem, "gemeente") + "</td>";
      const whole = wholeRun(row.id);
      html += '<td class="num">' + (whole === null ? "–" : esc(valueText(row.id, whole))) + "</td></tr>";
    }
    html += "</tbody></table>";
    // years
    const series = DATA.series.filter((s) => s.years.some(([, id]) => has(id)));
    if (series.length) {
      html += "<h3>" + esc(t("years")) + "</h3>";
      for (const s of series) html += "<div>" + esc(s[state.lang]) + "</div>" + yearChart(s, i);
    }
    // comparison with similar areas
    const similar = similarAreas(i);
    const plural = levelName(level).toLowerCase();
    if (!similar) {
      html += "<h3>" + esc(t("similar", { level: plural })) + "</h3><p>" + esc(t("noSimilar")) + "</p>";
    } else {
      html += '<h3 id="similar">' + esc(t("similar", { level: plural })) + "</h3><p class=\"sub\">" + esc(t("similarBy", { what: similar.by.map(label).join(", ") })) + "</p><ul>";
      for (const j of similar.areas) html += '<li><a href="#" data-code="' + esc(codes()[j]) + '">' + esc(col("naam")[j] || codes()[j]) + "</a> (" + esc(codes()[j]) + ")</li>";
      html += "</ul><h3>" + esc(t("deviates", { level: plural })) + "</h3>";
      const found = deviations(i, similar.areas);
      if (!found.length) html += "<p>" + esc(t("noDeviation")) + "</p>";
      else {
        html += "<ul>";
        for (const d of found) {
          const up = d.z > 0;
          html += '<li><span class="' + (up ? "dev-up" : "dev-down") + '">' + esc(label(d.id)) + ": " + esc(valueText(d.id, d.value)) + ", " +
            esc(up ? t("higher") : t("lower")) + "</span> " + esc(t("than", { value: valueText(d.id, d.peerMean) })) + "</li>";
        }
        html += "</ul>";
      }
    }
    box.innerHTML = html;
  }

  // ---- interaction ----------------------------------------------------------------
  function select(code, zoom) {
    state.selected = code;
    const i = selectedIndex();
    if (i >= 0 && zoom) {
      const g = decode(state.level), b = worldBox(state.level, g.boxes[i]);
      const w = b[2] - b[0], h = b[3] - b[1];
      fitExtent([b[0] - w * 2, b[1] - h * 2, b[2] + w * 2, b[3] + h * 2], 0.02);
    }
    renderTable(); renderProfile(); redraw();
  }
  function showTooltip(i, px, py) {
    const tip = $("tooltip");
    if (i < 0) { tip.hidden = true; return; }
    const name = col("naam")[i] || "", code = codes()[i];
    tip.innerHTML = "<b>" + esc(name) + "</b>" + esc(code) + "<br>" + esc(layerLabel(state.layer)) + ': <span class="value">' + cellHtml(state.layer, i) + "</span>";
    tip.hidden = false;
    const box = $("mapbox").getBoundingClientRect();
    tip.style.left = Math.min(px + 14, box.width - tip.offsetWidth - 4) + "px";
    tip.style.top = Math.min(py + 14, box.height - tip.offsetHeight - 4) + "px";
  }
  function zoomAt(factor, px, py) {
    view.tx = px - (px - view.tx) * factor;
    view.ty = py - (py - view.ty) * factor;
    view.scale *= factor;
    redraw();
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
  canvas.addEventListener("keydown", (ev) => {
    const step = 60, w = canvas.clientWidth / 2, h = canvas.clientHeight / 2;
    const keys = {
      ArrowLeft: () => { view.tx += step; }, ArrowRight: () => { view.tx -= step; },
      ArrowUp: () => { view.ty += step; }, ArrowDown: () => { view.ty -= step; },
      "+": () => zoomAt(1.25, w, h), "=": () => zoomAt(1.25, w, h), "-": () => zoomAt(0.8, w, h), "0": resetView,
    };
    if (keys[ev.key]) { ev.preventDefault(); keys[ev.key](); redraw(); }
  });
  $("zoomin").addEventListener("click", () => zoomAt(1.4, canvas.clientWidth / 2, canvas.clientHeight / 2));
  $("zoomout").addEventListener("click", () => zoomAt(1 / 1.4, canvas.clientWidth / 2, canvas.clientHeight / 2));
  $("zoomreset").addEventListener("click", () => { resetView(); redraw(); });
  $("level").addEventListener("change", (ev) => {
    const previous = state.layer;
    state.level = ev.target.value; state.hover = -1;
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
  $("lang").addEventListener("click", () => { state.lang = state.lang === "nl" ? "en" : "nl"; refresh(); });
  $("filter").addEventListener("input", (ev) => { state.filter = ev.target.value; renderTable(); });
  $("csv").addEventListener("click", downloadCsv);
  $("table").addEventListener("click", (ev) => {
    const th = ev.target.closest("th");
    if (th) { sortBy(th.dataset.column); return; }
    const tr = ev.target.closest("tr[data-index]");
    if (tr) select(codes()[Number(tr.dataset.index)], true);
  });
  $("table").addEventListener("keydown", (ev) => {
    if (ev.key !== "Enter" && ev.key !== " ") return;
    const th = ev.target.closest("th");
    if (th) { ev.preventDefault(); sortBy(th.dataset.column); return; }
    const tr = ev.target.closest("tr[data-index]");
    if (tr) { ev.preventDefault(); select(codes()[Number(tr.dataset.index)], true); }
  });
  $("table").addEventListener("mouseover", (ev) => {
    const tr = ev.target.closest("tr[data-index]");
    const i = tr ? Number(tr.dataset.index) : -1;
    if (i !== state.hover) { state.hover = i; redraw(); }
  });
  $("profile").addEventListener("click", (ev) => {
    const link = ev.target.closest("a[data-code]");
    if (link) { ev.preventDefault(); select(link.dataset.code, true); }
  });
  function sortBy(column) {
    const current = state.sort.column || state.layer;
    state.sort = { column, descending: current === column ? !state.sort.descending : column !== "naam" && column !== "code" };
    renderTable();
  }
  function refresh() {
    $("tooltip").hidden = true;
    syncControls(); renderLegend(); renderTable(); renderProfile(); renderFooter(); redraw();
  }
  window.addEventListener("resize", () => { resize(); redraw(); });

  // a small interface for tests and for users who script the page
  window.zicht = {
    state,
    select: (code) => select(code, true),
    setLevel: (level) => { $("level").value = level; $("level").dispatchEvent(new Event("change")); },
    setTheme: (theme) => { $("theme").value = theme; $("theme").dispatchEvent(new Event("change")); },
    setLayer: (layer) => { $("layer").value = layer; $("layer").dispatchEvent(new Event("change")); },
    screenPoint: (code) => {
      const i = indexOf(code);
      if (i < 0) return null;
      const p = DATA.levels[state.level].points[i], [a, d, e, f] = gridTransform(state.level);
      const box = canvas.getBoundingClientRect();
      return [box.left + a * p[0] + e, box.top + d * p[1] + f];
    },
    csv: csvText,
  };

  resize();
  resetView();
  syncControls();
  draw();
  renderLegend(); renderTable(); renderProfile(); renderFooter();
})();
