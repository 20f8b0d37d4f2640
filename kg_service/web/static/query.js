// The query page's editor: SPARQL highlighting over a plain textarea, queries run through /sparql
// without a reload, results as a table whose IRIs link to their pages, errors with their position.
// Without this script the page still works: its forms are plain GETs that the server answers.
// Every piece of data is put in the page with textContent or as an attribute, never as HTML.
"use strict";

(function () {
  const form = document.getElementById("query-form");
  if (!form) return;
  const textarea = document.getElementById("query");
  const code = document.getElementById("highlight");
  const editor = textarea.parentElement;
  const body = document.getElementById("results-body");
  const base = form.dataset.base;
  const endpoint = form.dataset.endpoint;
  const pagePath = form.dataset.page;
  const prefixes = JSON.parse(form.dataset.prefixes);
  const RESULT_FORMATS = [["SPARQL JSON", "json"], ["SPARQL XML", "xml"], ["CSV", "csv"], ["TSV", "tsv"]];
  const GRAPH_FORMATS = [["Turtle", "ttl"], ["N-Triples", "nt"], ["RDF/XML", "rdfxml"], ["JSON-LD", "jsonld"]];
  const KEYWORDS = new Set(("SELECT CONSTRUCT DESCRIBE ASK WHERE PREFIX BASE FROM NAMED GRAPH OPTIONAL UNION MINUS " +
    "FILTER BIND VALUES AS DISTINCT REDUCED ORDER BY GROUP HAVING LIMIT OFFSET ASC DESC NOT EXISTS IN " +
    "COUNT SUM MIN MAX AVG SAMPLE GROUP_CONCAT SEPARATOR STR LANG LANGMATCHES DATATYPE BOUND IRI URI BNODE " +
    "REGEX REPLACE CONTAINS STRSTARTS STRENDS STRLEN SUBSTR UCASE LCASE YEAR MONTH DAY NOW IF COALESCE " +
    "SERVICE UNDEF TRUE FALSE ISIRI ISURI ISLITERAL ISBLANK SAMETERM LCASE CONCAT ENCODE_FOR_URI").split(" "));
  const TOKEN = new RegExp([
    '("""[\\s\\S]*?"""|\'\'\'[\\s\\S]*?\'\'\'|"(?:[^"\\\\\\n]|\\\\.)*"?|\'(?:[^\'\\\\\\n]|\\\\.)*\'?)',  // 1 string
    "(<[^<>\"{}|^`\\\\\\s]*>)",                    // 2 IRI
    "(#[^\\n]*)",                                  // 3 comment
    "([?$][A-Za-z0-9_]+)",                         // 4 variable
    "((?:[A-Za-z][\\w.-]*)?:[\\w.:%-]*)",          // 5 prefixed name
    "([A-Za-z_][A-Za-z0-9_]*)",                    // 6 word
    "(\\d+(?:\\.\\d+)?)",                          // 7 number
  ].join("|"), "g");
  const CLASSES = [null, "tok-string", "tok-iri", "tok-comment", "tok-var", "tok-pname", "tok-word", "tok-number"];
  let errorAt = null;  // code-unit offset of a reported error in the current text

  function highlight() {
    const text = textarea.value;
    const out = document.createDocumentFragment();
    let last = 0;
    const errorOffset = errorAt;
    function plain(upTo) {
      if (upTo <= last) return;
      if (errorOffset !== null && last <= errorOffset && errorOffset < upTo) {  // the error is on punctuation
        out.appendChild(document.createTextNode(text.slice(last, errorOffset)));
        out.appendChild(element("span", text.slice(errorOffset, errorOffset + 1), "tok-error"));
        if (upTo > errorOffset + 1) out.appendChild(document.createTextNode(text.slice(errorOffset + 1, upTo)));
        return;
      }
      out.appendChild(document.createTextNode(text.slice(last, upTo)));
    }
    for (const match of text.matchAll(TOKEN)) {
      plain(match.index);
      const group = match.slice(1).findIndex((g) => g !== undefined) + 1;
      let cls = CLASSES[group];
      if (group === 6) cls = KEYWORDS.has(match[0].toUpperCase()) || match[0] === "a" ? "tok-keyword" : null;
      const span = document.createElement("span");
      if (cls) span.className = cls;
      const end = match.index + match[0].length;
      if (errorOffset !== null && match.index <= errorOffset && errorOffset < Math.max(end, match.index + 1)) {
        span.classList.add("tok-error");
      }
      span.textContent = match[0];
      out.appendChild(span);
      last = end;
    }
    plain(text.length);
    if (errorOffset !== null && errorOffset >= text.length) out.appendChild(element("span", " ", "tok-error"));
    out.appendChild(document.createTextNode("\n"));  // keeps the last line's height when it is empty
    code.replaceChildren(out);
    syncScroll();
  }

  function syncScroll() {
    code.parentElement.scrollTop = textarea.scrollTop;
    code.parentElement.scrollLeft = textarea.scrollLeft;
  }

  function shortName(iri) {
    for (const [name, ns] of Object.entries(prefixes)) {
      if (iri.startsWith(ns) && iri.length > ns.length) return name + ":" + iri.slice(ns.length);
    }
    return "<" + iri + ">";
  }

  function localUrl(iri) {
    if (iri.startsWith(base + "id/article/") && !iri.slice((base + "id/article/").length).includes("/")) {
      return "/articles/" + iri.slice((base + "id/article/").length);
    }
    if (iri.startsWith(base + "id/")) return "/" + iri.slice(base.length);
    if (iri.startsWith(base + "graph/")) return "/data?graph=" + encodeURIComponent(iri) + "&format=ttl";
    if (/^https?:\/\//.test(iri)) return iri;
    return null;
  }

  function element(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }

  function cell(binding) {
    const td = document.createElement("td");
    if (!binding) return td;
    if (binding.type === "uri") {
      const url = localUrl(binding.value);
      const node = url ? element("a", shortName(binding.value)) : element("span", shortName(binding.value));
      if (url) node.href = url;
      if (url && !url.startsWith("/")) node.rel = "external noopener";
      td.appendChild(node);
    } else if (binding.type === "bnode") {
      td.textContent = "_:" + binding.value;
    } else {
      td.textContent = binding.value;
      const xsdString = "http://www.w3.org/2001/XMLSchema#string";
      if (binding.datatype && binding.datatype !== xsdString) {
        td.append(" ", element("small", shortName(binding.datatype), "dt"));
      }
    }
    return td;
  }

  function isGraphQuery(text) {
    const stripped = text.replace(/#[^\n]*/g, " ").replace(/<[^>\s]*>/g, " ");
    const form = stripped.match(/\b(SELECT|CONSTRUCT|DESCRIBE|ASK)\b/i);
    return !!form && /^(CONSTRUCT|DESCRIBE)$/i.test(form[1]);
  }

  function downloads(text) {
    const p = element("p", "Download: ", "downloads");
    p.id = "downloads";
    const formats = isGraphQuery(text) ? GRAPH_FORMATS : RESULT_FORMATS;
    formats.forEach(([label, name], i) => {
      const a = element("a", label);
      a.href = endpoint + "?" + new URLSearchParams({query: text, format: name}).toString();
      a.setAttribute("download", "");
      if (i) p.append(" · ");
      p.appendChild(a);
    });
    return p;
  }

  function showError(text, message) {
    const box = element("div", null, "error");
    box.id = "query-error";
    box.setAttribute("role", "alert");
    const p = element("p");
    p.append(element("strong", "The query failed:"), " " + message);
    box.appendChild(p);
    const at = /\bat (\d+):(\d+)/.exec(message);
    errorAt = null;
    if (at) {
      const line = Number(at[1]), lines = text.split("\n");
      if (line >= 1 && line <= lines.length) {
        // The parser may point just past the end of a line; mark the line's last character then.
        const column = Math.max(1, Math.min(Number(at[2]), lines[line - 1].length));
        box.appendChild(element("p", "Line " + line + ", column " + column + ":"));
        box.appendChild(element("pre", lines[line - 1] + "\n" + " ".repeat(Math.max(0, column - 1)) + "^",
          "error-context"));
        errorAt = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0) + column - 1;
      }
    }
    highlight();
    body.replaceChildren(box);
  }

  function showResults(text, response, payload, ms) {
    const rowsHeader = response.headers.get("X-KG-Rows");
    const truncated = response.headers.get("X-KG-Truncated") === "true";
    const parts = [];
    let rows = 0;
    let content;
    if (typeof payload === "string") {
      content = element("pre", payload, "turtle");
      rows = Number(rowsHeader || 0);
    } else if ("boolean" in payload) {
      content = element("p", "Answer: ", "boolean");
      content.appendChild(element("strong", payload.boolean ? "yes" : "no"));
      rows = 1;
    } else {
      const vars = payload.head.vars;
      const table = element("table", null, "results");
      table.id = "results-table";
      const head = table.createTHead().insertRow();
      vars.forEach((v) => { const th = element("th", v); th.scope = "col"; head.appendChild(th); });
      const tbody = table.createTBody();
      for (const solution of payload.results.bindings) {
        const tr = tbody.insertRow();
        vars.forEach((v) => tr.appendChild(cell(solution[v])));
      }
      rows = payload.results.bindings.length;
      content = element("div", null, "table-wrap");
      content.appendChild(table);
    }
    const stats = element("p", rows + (rows === 1 ? " row" : " rows") +
      (truncated ? " (only the first " + rows + " shown; download for more)" : "") +
      " in " + Math.round(ms) + " ms", "stats");
    stats.id = "stats";
    parts.push(stats, downloads(text), content);
    body.replaceChildren(...parts);
  }

  async function run(event) {
    if (event) event.preventDefault();
    const text = textarea.value;
    errorAt = null;
    highlight();
    body.replaceChildren(element("p", "Running…", "muted"));
    const started = performance.now();
    let response;
    try {
      response = await fetch(endpoint, {
        method: "POST",
        headers: {"Accept": "application/sparql-results+json, text/turtle;q=0.9",
                  "Content-Type": "application/x-www-form-urlencoded"},
        body: new URLSearchParams({query: text}),
      });
    } catch (error) {
      showError(text, "the service could not be reached (" + error.message + ")");
      return;
    }
    const ms = performance.now() - started;
    const type = response.headers.get("Content-Type") || "";
    history.replaceState(null, "", pagePath + "?" + new URLSearchParams({query: text}).toString());
    if (!response.ok) {
      let message = response.status + " " + response.statusText;
      if (type.includes("json")) {
        const problem = await response.json();
        message = problem.message || message;
      } else {
        message = (await response.text()) || message;
      }
      showError(text, message);
      return;
    }
    const payload = type.includes("json") ? await response.json() : await response.text();
    showResults(text, response, payload, ms);
  }

  function addPrefixes() {
    const text = textarea.value;
    const declared = new Set([...text.matchAll(/PREFIX\s+([\w.-]*):/gi)].map((m) => m[1]));
    const used = new Set([...text.replace(/<[^>\s]*>|"[^"\n]*"|#[^\n]*/g, " ")
      .matchAll(/(?:^|[\s(,;/^|!])([A-Za-z][\w-]*):/g)].map((m) => m[1]));
    const missing = [...used].filter((p) => !declared.has(p) && p in prefixes);
    if (missing.length) {
      textarea.value = missing.map((p) => "PREFIX " + p + ": <" + prefixes[p] + ">\n").join("") + text;
      highlight();
    }
  }

  editor.classList.add("enhanced");
  document.getElementById("add-prefixes").hidden = false;
  document.getElementById("hint").hidden = false;
  textarea.addEventListener("input", () => { errorAt = null; highlight(); });
  textarea.addEventListener("scroll", syncScroll);
  textarea.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) run(event);
  });
  form.addEventListener("submit", run);
  document.getElementById("add-prefixes").addEventListener("click", addPrefixes);
  highlight();
  const error = document.querySelector("#query-error pre.error-context");
  if (error) {  // a server-rendered error: mark its place in the editor too
    const at = /Line (\d+), column (\d+)/.exec(document.getElementById("query-error").textContent);
    if (at) {
      const lines = textarea.value.split("\n");
      errorAt = lines.slice(0, Number(at[1]) - 1).reduce((n, l) => n + l.length + 1, 0) + Number(at[2]) - 1;
      highlight();
    }
  }
})();
