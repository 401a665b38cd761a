// The dashboard's behaviour: the company picker, the charts' data, the tables and their CSV downloads.
// Everything it shows comes from the JSON model in #report-data (written by reports/dashboard.py); text is set
// with textContent, never as HTML, so names from the API cannot inject markup.
"use strict";
const model = JSON.parse(document.getElementById("report-data").textContent);
const views = [];
const LONGEST = 200; // characters of a name shown in a cell (neutralise.LONGEST)
let picked = model.companies[0];
const EMBED = { renderer: "svg", actions: false, formatLocale: model.vega_locale.number, timeFormatLocale: model.vega_locale.time };

// A message of the page's language (model.text), its {placeholders} filled.
function t(message, values = {}) {
  return (model.text[message] ?? message).replace(/\{(\w+)\}/g, (_, key) => values[key]);
}

// A message with a count (model.plurals: its singular's [one, other] forms in the page's language), filled.
const pluralRule = new Intl.PluralRules(model.locale);
function tCount(singular, count, values = {}) {
  const [one, other] = model.plurals[singular];
  return (pluralRule.select(count) === "one" ? one : other).replace(/\{(\w+)\}/g, (_, key) => values[key]);
}

function number(value, digits = 0, style = "decimal") {
  const options = { style, minimumFractionDigits: digits, maximumFractionDigits: digits };
  return new Intl.NumberFormat(model.locale, options).format(value);
}

// The trends' range and grain (the points: a day, an ISO week or a month), as the two controls say.
const view = { range: "90", grain: "day" };

function rate(series, name, i) {
  const [num, den] = model.ratios[name];
  const sum = (keys) => keys.reduce((s, k) => (s === null || series[k][i] === null ? null : s + series[k][i]), 0);
  const n = sum(num), d = sum(den);
  return n === null || d === null || d <= 0 ? null : n / d;
}

// A figure of `company` at each point of `grain`: a rate from the point's summed parts, never an average of rates.
function values(company, key, grain) {
  const series = company.series[grain];
  if (key in model.ratios) return model.axes[grain].t.map((_, i) => rate(series, key, i));
  return series[key];
}

// The points of the chosen grain whose period reaches into the chosen range (ending on the last loaded day).
function shownPoints() {
  const axis = model.axes[view.grain];
  const every = axis.t.map((_, i) => i);
  if (view.range === "all") return every;
  const days = model.axes.day.end;
  const start = new Date(days[days.length - 1] + "T00:00:00Z");
  start.setUTCDate(start.getUTCDate() - Number(view.range) + 1);
  const first = start.toISOString().slice(0, 10);
  return every.filter((i) => axis.end[i] >= first);
}

function format(value, kind) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  const sign = value > 0 ? "+" : "";
  if (kind === "rate") return number(value, 1, "percent");
  if (kind === "change") return sign + number(value, 0, "percent");
  if (kind === "points") return t("{points} pts", { points: sign + number(100 * value, 1) });
  if (kind === "count") return number(Math.round(value));
  if (kind === "number") return Number(value.toPrecision(4)).toLocaleString(model.locale, { maximumFractionDigits: 20 });
  const chars = Array.from(String(value)); // API text: shown up to LONGEST characters (the CSV holds it whole)
  return chars.length > LONGEST ? chars.slice(0, LONGEST - 1).join("") + "…" : chars.join("");
}

// The trends at the chosen range and grain: a solid line through the wholly loaded points; a point not wholly loaded
// (the period in progress among them) hollow, joined to its neighbours by a dashed segment, its days on hover. The
// built-in panels ("chart-N") and one per KPI of your own ("kpi-chart-N", their days those of custom_kpis).
function drawPanels() {
  const own = model.kpis.panels.map((panel, p) => drawPanel(panel, "kpi-", p, kpiViews, picked.kpi_partial[view.grain] || {}));
  return Promise.all([...model.panels.map((panel, p) => drawPanel(panel, "", p, views, picked.partial[view.grain])), ...own]);
}

function drawPanel(panel, prefix, p, charts, partial) {
  const axis = model.axes[view.grain];
  const points = shownPoints();
  const step = Math.max(1, Math.ceil(points.length / 13)); // ticks at the grain, about a dozen
  const rows = [], dashes = [], waiting = [];
  for (const figure of panel.figures) {
    const all = values(picked, figure.key, view.grain);
    if (all === undefined) { // a KPI whose trend for this company the page does not hold
      waiting.push(model.kpis.left_out);
      continue;
    }
    if (!points.some((i) => all[i] !== null)) waiting.push(t("{label}: {value}", { label: figure.label, value: figure.why }));
    points.forEach((i, k) => {
      const short = all[i] !== null && i in partial;
      const days = { loaded: number(i in partial ? partial[i] : axis.days[i]), days: number(axis.days[i]) };
      const last = i === axis.t.length - 1;
      const note = short ? tCount(last ? "in progress: {loaded} of {days} day" : "{loaded} of {days} day loaded", axis.days[i], days) : `${days.loaded} / ${days.days}`;
      rows.push({ t: axis.t[i], figure: figure.label, value: all[i], solid: short ? null : all[i], partial: short, note });
      if (!short) return;
      for (const j of [points[k - 1], i, points[k + 1]]) {
        if (j !== undefined && all[j] !== null) dashes.push({ t: axis.t[j], figure: figure.label, value: all[j], segment: figure.key + i });
      }
    });
  }
  const empty = waiting.length === panel.figures.length;
  document.getElementById(prefix + "chart-" + p).hidden = empty;
  const note = document.getElementById(prefix + "note-" + p);
  note.textContent = waiting.join(" · ");
  note.hidden = waiting.length === 0;
  note.className = empty ? "note empty" : "note";
  if (!charts[p]) return null;
  return charts[p].data("points", rows).data("dashes", dashes).signal("grain", view.grain).signal("step", step).runAsync();
}

// Your KPIs: a card each for the picked company (a card's description on hover), and their holders made once.
const kpiViews = [];
function drawKpis() {
  document.getElementById("kpis-company").textContent = picked.title;
  const empty = document.getElementById("kpis-empty");
  empty.textContent = model.kpis.why;
  empty.hidden = !model.kpis.why;
  fillCards(picked.kpis, "kpi-");
}

function makeKpiHolders() {
  const cards = document.getElementById("kpi-cards");
  model.kpis.labels.forEach((label, i) => {
    const card = document.createElement("div");
    card.className = "card";
    card.id = "kpi-" + i;
    card.title = model.kpis.descriptions[i];
    for (const part of ["label", "value", "change", "why"]) card.append(Object.assign(cell("div", part === "label" ? label : ""), { className: part }));
    cards.append(card);
  });
  const charts = document.getElementById("kpi-charts");
  model.kpis.panels.forEach((_, p) => {
    const holder = Object.assign(document.createElement("div"), { className: "panel" });
    const note = Object.assign(cell("p", ""), { id: "kpi-note-" + p, className: "note", hidden: true });
    holder.append(Object.assign(document.createElement("div"), { id: "kpi-chart-" + p }), note);
    charts.append(holder);
  });
}

function drawHeadline() {
  document.getElementById("headline-company").textContent = picked.title;
  fillCards(picked.headline, "figure-");
}

// Cards "<prefix>N" of the picked company: each figure's value, change and why it is not known.
function fillCards(shown, prefix) {
  shown.forEach((figure, i) => {
    const card = document.getElementById(prefix + i);
    card.querySelector(".value").textContent = figure.value;
    card.querySelector(".change").textContent = figure.change;
    card.querySelector(".why").textContent = figure.why;
  });
}

function drawUsers() {
  const people = model.users;
  const mine = people.by_company[String(picked.id)];
  document.getElementById("users-company").textContent = picked.title;
  const empty = document.getElementById("users-empty");
  empty.textContent = people.why;
  empty.hidden = Boolean(people.known && mine);
  document.getElementById("users").hidden = !(people.known && mine);
  if (!people.known || !mine) return Promise.resolve();
  mine.funnel.forEach((value, i) => {
    const card = document.getElementById("funnel-" + i);
    card.querySelector(".value").textContent = format(value, "count");
    const previous = i > 0 ? mine.funnel[i - 1] : null;
    card.querySelector(".why").textContent =
      value === null
        ? t("no members recorded yet")
        : previous
          ? t("{share} of the step before", { share: format(value / previous, "rate") })
          : "";
  });
  const never = document.getElementById("never-active");
  never.querySelector(".value").textContent = format(mine.never, "count");
  never.querySelector(".why").textContent = t(mine.never === null ? "needs the members count" : "members minus ever active");
  const table = document.createElement("table");
  const head = table.createTHead().insertRow();
  const row = table.createTBody().insertRow();
  people.segments.forEach((name, i) => {
    head.append(cell("th", t(name === "unknown" ? "not known" : name)));
    row.append(cell("td", format(mine.segments[i], "count")));
  });
  document.getElementById("user-segments").replaceChildren(table);
  const months = mine.months.flatMap(([month, fresh, gone]) => [
    { month, kind: t("new"), users: fresh },
    { month, kind: t("newly dormant"), users: gone },
  ]);
  const cohorts = mine.cohorts.map(([cohort, offset, rate, retained, size]) => ({ cohort, offset, rate, retained, size }));
  return Promise.all([embedWith("months", months), embedWith("cohorts", cohorts)]);
}

// A users chart drawn anew with its rows inlined (a bar or heatmap chart without rows has no size at all).
function embedWith(name, rows) {
  const spec = JSON.parse(JSON.stringify(model.users.specs[name]), (key, value) =>
    key === "data" && value && value.name === name ? { values: rows } : value,
  );
  const holder = document.getElementById("chart-" + name);
  holder.hidden = rows.length === 0;
  return rows.length ? vegaEmbed(holder, spec, EMBED) : null;
}

function cell(tag, text) {
  const element = document.createElement(tag);
  element.textContent = text;
  return element;
}

function drawTable(name) {
  const table = model.tables[name];
  const own = table.rows.filter((row) => (table.all && picked.id === model.all_id) || row[0] === picked.id);
  const holder = document.getElementById("table-" + name);
  holder.replaceChildren();
  const note = document.getElementById("count-" + name);
  if (!own.length) {
    holder.append(cell("p", table.empty));
    note.textContent = "";
    return;
  }
  const shown = table.columns.map((c, i) => [c, i]).filter(([c]) => !c.hidden);
  const element = document.createElement("table");
  const head = element.createTHead().insertRow();
  shown.forEach(([c]) => head.append(cell("th", c.label)));
  const body = element.createTBody();
  for (const row of own.slice(0, table.limit)) {
    const tr = body.insertRow();
    shown.forEach(([c, i]) => tr.append(cell("td", format(row[i], c.kind))));
  }
  holder.append(element);
  const counted = { limit: number(table.limit), count: number(own.length) };
  note.textContent = own.length > table.limit ? t("(the first {limit} of {count}: the CSV holds them all)", counted) : "";
}

// A small line of the weekly sessions: a gap where a week is not wholly loaded.
function sparkline(values) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  const [width, height] = [90, 18];
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  const top = Math.max(1, ...values.filter((v) => v !== null));
  let path = "";
  values.forEach((v, i) => {
    if (v === null) return;
    const x = values.length > 1 ? (i * (width - 2)) / (values.length - 1) + 1 : width / 2;
    const y = height - 1 - (v / top) * (height - 2);
    path += (i > 0 && values[i - 1] !== null ? "L" : "M") + x.toFixed(1) + " " + y.toFixed(1);
  });
  const line = document.createElementNS("http://www.w3.org/2000/svg", "path");
  line.setAttribute("d", path);
  line.setAttribute("fill", "none");
  line.setAttribute("stroke", "#0b57d0");
  svg.append(line);
  return svg;
}

// A table of `source` (columns, rows) whose header sorts `order` (rows' indexes, sorted in place) by a column on
// click (`sort`: by, descending; unknown figures last), then calls `redraw`; a last header `extra`. Returns the
// table (its body still to add) and the columns shown ([column, index]).
function sortable(source, order, sort, redraw, extra) {
  const key = (r) => source.rows[r][sort.by];
  order.sort((a, b) => {
    if (key(a) === null || key(b) === null) return (key(a) === null) - (key(b) === null);
    const less = typeof key(a) === "string" ? key(a).localeCompare(key(b)) : key(a) - key(b);
    return sort.descending ? -less : less;
  });
  const element = document.createElement("table");
  const head = element.createTHead().insertRow();
  const shown = source.columns.map((c, i) => [c, i]).filter(([c]) => !c.hidden);
  shown.forEach(([c, i]) => {
    const th = cell("th", c.label);
    if (i === sort.by) th.setAttribute("aria-sort", sort.descending ? "descending" : "ascending");
    th.addEventListener("click", () => {
      sort.descending = i === sort.by ? !sort.descending : source.columns[i].kind !== "text";
      sort.by = i;
      redraw();
    });
    head.append(th);
  });
  head.append(cell("th", extra));
  return [element, shown];
}

// Companies side by side, with "All companies": sorted by a column (unknown figures last), filtered by name.
const compare = { by: 2, descending: true };
function drawCompare() {
  const table = model.compare;
  document.getElementById("compare-section").hidden = picked.id !== model.all_id;
  const words = document.getElementById("compare-filter").value.trim().toLowerCase();
  const order = table.rows.map((_, r) => r).filter((r) => table.rows[r][1].toLowerCase().includes(words));
  const [element, shown] = sortable(table, order, compare, drawCompare, t("Sessions per week"));
  const body = element.createTBody();
  for (const r of order) {
    const tr = body.insertRow();
    tr.dataset.row = r; // its row in model.compare
    shown.forEach(([c, i]) => {
      const td = cell("td", format(table.rows[r][i], c.kind));
      if (table.why[r][i]) td.title = table.why[r][i];
      tr.append(td);
    });
    tr.cells[0].className = "pick";
    tr.cells[0].addEventListener("click", () => {
      document.getElementById("company").value = table.rows[r][1];
      pick(table.rows[r][1]);
    });
    const trend = document.createElement("td");
    trend.append(sparkline(table.trend[r]));
    tr.append(trend);
  }
  document.getElementById("compare").replaceChildren(element);
  const counts = { shown: number(order.length), total: number(table.rows.length) };
  document.getElementById("compare-count").textContent = tCount("{shown} of {total} company", table.rows.length, counts);
}

// Groups side by side for the picked company and org attribute: sorted by a column, filtered by name, a trend of
// active users at the chosen points. With "All companies" the section asks to pick one.
const grouping = { by: 3, descending: true, attribute: "" };
function groupRows() {
  const words = document.getElementById("groups-filter").value.trim().toLowerCase();
  const rows = model.groups.rows;
  return rows.map((_, r) => r).filter((r) => rows[r][0] === picked.id && rows[r][1] === grouping.attribute
    && String(rows[r][2]).toLowerCase().includes(words));
}
function drawGroups() {
  const section = model.groups;
  document.getElementById("groups-company").textContent = picked.title;
  const why = section.why || (picked.id === model.all_id ? t("Pick a company to see its groups.") : "");
  document.getElementById("groups-why").hidden = !why;
  document.getElementById("groups-why").textContent = why;
  document.getElementById("groups-body").hidden = Boolean(why);
  document.getElementById("groups-note").hidden = !section.note;
  document.getElementById("groups-note").textContent = section.note;
  if (why) return;
  const select = document.getElementById("group-attribute");
  if (!select.options.length) {
    section.attributes.forEach((a) => select.append(new Option(a.slice(0, LONGEST), a)));
    grouping.attribute = section.attributes[0];
  }
  const order = groupRows();
  const [element, shown] = sortable(section, order, grouping, drawGroups, t("Active users per period"));
  const body = element.createTBody();
  for (const r of order) {
    const tr = body.insertRow();
    tr.dataset.row = r; // its row in model.groups
    shown.forEach(([c, i]) => tr.append(cell("td", format(section.rows[r][i], c.kind))));
    const trend = document.createElement("td");
    trend.append(sparkline(section.trend[view.grain][r]));
    tr.append(trend);
  }
  document.getElementById("groups").replaceChildren(element);
  const counts = { shown: number(order.length) };
  document.getElementById("groups-count").textContent = tCount("{shown} group", order.length, counts);
}

// One CSV cell (RFC 4180 quoting). Text is never a formula in a spreadsheet: a cell whose first non-blank character
// is = + - @ or their full-width forms (some spreadsheets trim blanks or fold those), or that starts with a tab or a
// carriage return, gets a leading apostrophe (OWASP's rule against CSV injection); our numbers stay numbers.
const FORMULA = /^\s*[=+\-@\uFF1D\uFF0B\uFF0D\uFF20]|^[\t\r]/;
function csvValue(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return String(value).replace(".", model.csv.decimal);
  let text = String(value);
  if (FORMULA.test(text)) text = "'" + text;
  return /[",;\n\r]/.test(text) ? '"' + text.replaceAll('"', '""') + '"' : text;
}

// A UTF-8 byte-order mark first, so that Excel reads "é" as "é"; the reader's list separator and decimal mark (";"
// and "," in French and German), so that Excel in that locale splits the columns and reads the numbers.
function download(name, header, rows) {
  const lines = [header, ...rows].map((row) => row.map(csvValue).join(model.csv.separator));
  const text = "\uFEFF" + lines.join("\r\n") + "\r\n";
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
}

function dailyRows() {
  const keys = [...model.daily_columns];
  const rows = [];
  for (const company of model.companies) {
    const columns = keys.map((key) => values(company, key, "day"));
    model.axes.day.t.forEach((day, i) => rows.push([company.id, company.name, day, ...columns.map((c) => c[i])]));
  }
  return [["company_id", "company", "date", ...keys], rows];
}

// The range and grain controls: a day a point only as far back as the daily points go.
function choose() {
  const grain = document.getElementById("grain");
  const days = Number(grain.dataset.dayDays);
  view.range = document.getElementById("range").value;
  const daily = grain.querySelector("option[value=day]");
  daily.disabled = view.range === "all" || Number(view.range) > days;
  if (daily.disabled && grain.value === "day") grain.value = "week";
  view.grain = grain.value;
  document.getElementById("range-note").textContent = daily.disabled ? tCount("one a day: the last {days} day only", days, { days }) : "";
  drawGroups();
  return drawPanels().then(() => (document.body.dataset.view = view.range + "/" + view.grain));
}

function pick(text) {
  const found = model.companies.find((c) => c.label === text.trim());
  document.getElementById("company-error").hidden = Boolean(found);
  if (!found || found === picked) return; // the field left unchanged: nothing to redraw under the reader's click
  picked = found;
  drawHeadline();
  drawCompare();
  drawKpis();
  drawGroups();
  Object.keys(model.tables).forEach(drawTable);
  Promise.all([drawPanels(), drawUsers()]).then(() => (document.body.dataset.picked = picked.label));
}

document.getElementById("company").addEventListener("change", (event) => pick(event.target.value));
document.querySelectorAll("button[data-csv]").forEach((button) =>
  button.addEventListener("click", () => {
    const name = button.dataset.csv;
    if (name === "daily") {
      const [header, rows] = dailyRows();
      download("daily_figures.csv", header, rows);
    } else if (name === "compare") {
      download("companies.csv", model.compare.columns.map((c) => c.key), model.compare.rows);
    } else if (name === "groups") {
      download("groups.csv", model.groups.columns.map((c) => c.key), groupRows().map((r) => model.groups.rows[r]));
    } else {
      const table = model.tables[name];
      download(name + ".csv", table.columns.map((c) => c.key), table.rows);
    }
  }),
);
document.getElementById("compare-filter").addEventListener("input", drawCompare);
document.getElementById("groups-filter").addEventListener("input", drawGroups);
document.getElementById("group-attribute").addEventListener("change", (event) => {
  grouping.attribute = event.target.value;
  drawGroups();
});
document.getElementById("range").addEventListener("change", choose);
document.getElementById("grain").addEventListener("change", choose);
makeKpiHolders();
Object.keys(model.tables).forEach(drawTable);
drawHeadline();
drawCompare();
drawKpis();
drawGroups();
Promise.all([
  ...model.specs.map((spec, p) =>
    vegaEmbed("#chart-" + p, spec, EMBED).then((result) => (views[p] = result.view)),
  ),
  ...model.kpis.specs.map((spec, p) =>
    vegaEmbed("#kpi-chart-" + p, spec, EMBED).then((result) => (kpiViews[p] = result.view)),
  ),
])
  .then(() => Promise.all([choose(), drawUsers()]))
  .then(() => {
    document.body.dataset.picked = picked.label;
    document.body.dataset.ready = "true";
  })
  .catch((error) => console.error(error));
