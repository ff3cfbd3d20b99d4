// shoplytics dashboard.
//
// A plain script, no framework and no build step: it reads the shoplytics
// API with a read key and fills the page. The key is kept in
// sessionStorage (this tab only) and sent as "Authorization: Bearer".
// Every URL is relative to the page (../api/...), so the dashboard works
// wherever the handler is mounted. Charts are SVG drawn by the server
// (../api/charts/*.svg), fetched with the key and inlined. Data is put in
// the page with textContent, never as HTML.
'use strict';

(function () {
  const KEY_STORE = 'shoplytics.readKey';
  const FUNNEL_STEPS = ['product_viewed', 'add_to_cart', 'checkout_started', 'purchase_completed'];
  const LIVE_MAX = 50;

  const $ = (id) => document.getElementById(id);
  const state = {
    key: '',
    admin: false,
    shops: [],
    shop: '',
    from: '',
    to: '', // inclusive, as shown; the API's "to" is the day after
    tz: 'UTC',
    currency: '', // of revenue in the trend and the rankings; '' is the server's choice
    generation: 0, // bumped on every load, so late answers of an old one are dropped
    live: null, // AbortController of the live feed
  };

  // ---- talking to the API ------------------------------------------------

  class APIError extends Error {
    constructor(status, message, field) {
      super(message);
      this.status = status;
      this.field = field || '';
    }
  }

  function apiURL(path, params) {
    const u = new URL('../' + path, document.baseURI);
    for (const [k, v] of Object.entries(params || {})) {
      if (v !== '' && v !== undefined && v !== null) u.searchParams.set(k, v);
    }
    return u;
  }

  async function request(path, params, accept, key) {
    let res;
    try {
      res = await fetch(apiURL(path, params), {
        headers: { Authorization: 'Bearer ' + (key || state.key), Accept: accept },
        cache: 'no-store',
      });
    } catch (err) {
      throw new APIError(0, 'The server could not be reached. Check that it is running, then press Show.');
    }
    if (!res.ok) {
      let msg = res.status + ' ' + res.statusText;
      let field = '';
      try {
        const body = await res.json();
        if (body && body.error) { msg = body.error; field = body.field || ''; }
      } catch (_) { /* not JSON */ }
      throw new APIError(res.status, msg, field);
    }
    return res;
  }

  async function getJSON(path, params, key) {
    return (await request(path, params, 'application/json', key)).json();
  }

  async function getSVG(path, params) {
    return (await request(path, params, 'image/svg+xml')).text();
  }

  // explain turns an error into what the reader should do about it, and
  // signs out when the key itself was refused.
  function explain(err) {
    if (!(err instanceof APIError)) return 'Something went wrong in the page: ' + err.message;
    switch (err.status) {
      case 0: return err.message;
      case 401:
        signOut(refusedText);
        return refusedText;
      case 403: return 'This key may not read shop “' + state.shop + '”. Sign in with that shop’s read key or the admin key.';
      case 400: return 'The server did not take the ' + (err.field || 'request') + ': ' + err.message + '.';
      case 503: return 'The store is not answering just now (' + err.message + '). Try again in a moment.';
      default: return 'The server answered ' + err.status + ' (' + err.message + '). Try again, or look at the server’s log.';
    }
  }

  const refusedText = 'This key was refused. Use a read key (secret, for one shop) or the admin key — ' +
    'not the write key that ships in your pages. Check it was copied whole.';

  // ---- formatting ----------------------------------------------------------

  const intFormat = new Intl.NumberFormat('en-US');
  const fmtInt = (n) => intFormat.format(n);
  const fmtPct = (x) => Number(x).toFixed(2) + '%';

  // fmtMoney groups the digits of a decimal string ("12345.60" →
  // "12,345.60") without turning it into a float.
  function fmtMoney(s) {
    const str = String(s);
    const neg = str.startsWith('-');
    const [whole, frac] = (neg ? str.slice(1) : str).split('.');
    const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    return (neg ? '-' : '') + grouped + (frac !== undefined ? '.' + frac : '');
  }

  function fmtDuration(seconds) {
    if (seconds === null || seconds === undefined) return '—';
    const s = Math.round(seconds);
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
    if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
    return (s / 86400).toFixed(1) + ' days';
  }

  function stepName(type) {
    const s = String(type).replace(/_/g, ' ');
    return s.charAt(0).toUpperCase() + s.slice(1);
  }

  function fmtTime(iso, withDate) {
    const d = new Date(iso);
    if (isNaN(d)) return String(iso);
    const o = { timeZone: state.tz, hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false };
    if (withDate) { o.year = 'numeric'; o.month = 'short'; o.day = 'numeric'; delete o.second; }
    try { return new Intl.DateTimeFormat('en-GB', o).format(d); } catch (_) { return d.toISOString(); }
  }

  // ---- dates in the chosen zone -------------------------------------------

  function validZone(tz) {
    try { new Intl.DateTimeFormat('en', { timeZone: tz }); return true; } catch (_) { return false; }
  }

  function todayIn(tz) {
    return new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
  }

  function addDays(date, n) {
    const [y, m, d] = date.split('-').map(Number);
    return new Date(Date.UTC(y, m - 1, d) + n * 86400000).toISOString().slice(0, 10);
  }

  function daysBetween(from, to) {
    const p = (s) => { const [y, m, d] = s.split('-').map(Number); return Date.UTC(y, m - 1, d); };
    return Math.round((p(to) - p(from)) / 86400000) + 1;
  }

  function setLastDays(n) {
    state.to = todayIn(state.tz);
    state.from = addDays(state.to, -(n - 1));
  }

  // query is the shared read parameters of the current view.
  function query() {
    return { shop: state.shop, from: state.from, to: addDays(state.to, 1), tz: state.tz };
  }

  // ---- DOM helpers ---------------------------------------------------------

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('data-')) e.setAttribute(k, v);
      else e[k] = v;
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }

  function fillTable(table, rows, emptyText) {
    const body = table.tBodies[0];
    body.replaceChildren();
    if (!rows.length) {
      const cols = table.tHead.rows[0].cells.length;
      body.append(el('tr', {}, el('td', { class: 'empty', colSpan: cols, text: emptyText })));
      return;
    }
    for (const cells of rows) {
      const tr = el('tr');
      for (const c of cells) {
        const td = el('td', { class: c.class || '' });
        if (c.node) td.append(c.node); else td.textContent = c.text;
        tr.append(td);
      }
      body.append(tr);
    }
  }

  function tableError(table, text) {
    const cols = table.tHead.rows[0].cells.length;
    table.tBodies[0].replaceChildren(el('tr', {}, el('td', { class: 'error', colSpan: cols, text })));
  }

  const num = (n, extra) => ({ text: fmtInt(n), class: 'num' + (extra ? ' ' + extra : '') });

  function showNotice(nodes, bad) {
    const n = $('notice');
    n.replaceChildren(...nodes);
    n.classList.toggle('bad', !!bad);
    n.hidden = false;
  }

  function hideNotice() { $('notice').hidden = true; }

  // inlineSVG puts a chart the server drew into container.
  function inlineSVG(container, text, label) {
    const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
    const svg = doc.documentElement;
    if (svg.nodeName !== 'svg' || doc.getElementsByTagName('parsererror').length) {
      throw new Error('the chart is not SVG');
    }
    for (const s of svg.querySelectorAll('script, foreignObject')) s.remove();
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', label);
    container.replaceChildren(document.importNode(svg, true));
  }

  function chartSize(container) {
    const w = Math.max(240, Math.min(2400, Math.round(container.clientWidth || 800)));
    return { width: w, height: w < 520 ? 260 : 320 };
  }

  // ---- sections ------------------------------------------------------------

  function kpi(id, label, value, sub) {
    const v = el('div', { class: 'value' }, el('span', { class: 'figure', text: value }));
    const card = el('div', { class: 'kpi', 'data-kpi': id }, el('div', { class: 'label', text: label }), v);
    if (sub) card.append(el('div', { class: 'sub', text: sub }));
    return card;
  }

  async function loadStats(gen) {
    const box = $('kpis');
    let s;
    try {
      s = await getJSON('api/stats', query());
    } catch (err) {
      if (gen !== state.generation) return null;
      box.replaceChildren();
      showNotice([document.createTextNode(explain(err))], true);
      throw err;
    }
    if (gen !== state.generation) return null;
    const cards = [
      kpi('events', 'Events', fmtInt(s.events), fmtInt(s.page_views) + ' page views'),
      kpi('sessions', 'Sessions', fmtInt(s.sessions), 'average ' + fmtDuration(s.avg_session_seconds)),
      kpi('users', 'Users', fmtInt(s.users), fmtInt(s.product_views) + ' product views'),
      kpi('conversion', 'Conversion', fmtPct(s.conversion_rate), fmtInt(s.purchases) + ' orders'),
    ];
    if (!s.revenue.length) {
      cards.push(kpi('revenue', 'Revenue', '—', 'no orders in this range'));
    }
    for (const r of s.revenue) {
      const c = kpi('revenue', 'Revenue ' + r.currency, fmtMoney(r.total), fmtInt(r.orders) + ' orders');
      c.setAttribute('data-currency', r.currency);
      cards.push(c);
    }
    for (const r of s.revenue) {
      const c = kpi('average', 'Average order ' + r.currency, fmtMoney(r.average),
        'from ' + fmtMoney(r.min) + ' to ' + fmtMoney(r.max));
      c.setAttribute('data-currency', r.currency);
      cards.push(c);
    }
    cards.push(kpi('cart_abandonment', 'Cart abandonment', fmtPct(s.cart_abandonment_rate), fmtInt(s.add_to_carts) + ' adds to cart'));
    cards.push(kpi('bounce', 'Bounce rate', fmtPct(s.bounce_rate), 'one page, then gone'));
    box.replaceChildren(...cards);
    if (s.events === 0) showEmpty(); else hideNotice();
    currencies(s.revenue.map((r) => r.currency));
    return s;
  }

  // currencies offers the range's currencies for revenue, when there is a
  // choice; the first is the one the server picks by default.
  function currencies(list) {
    const sel = $('currency');
    const keep = list.includes(state.currency) ? state.currency : '';
    sel.replaceChildren(el('option', { value: '', text: list.length ? list[0] + ' (most orders)' : 'most orders' }),
      ...list.slice(1).map((c) => el('option', { value: c, text: c })));
    sel.value = keep;
    state.currency = keep;
    $('currency-field').hidden = list.length < 2;
  }

  // showEmpty says how to get events into an empty range.
  function showEmpty() {
    const events = new URL('../events', document.baseURI).href;
    const tracker = new URL('../tracker.js', document.baseURI).href;
    const snippet = '<script src="' + tracker + '"></script>\n' +
      '<script>shoplytics.init({ apiKey: "YOUR_WRITE_KEY" });</script>';
    const curl = 'curl -X POST ' + events + ' -u YOUR_WRITE_KEY: \\\n  -H "Content-Type: application/json" \\\n' +
      '  -d \'{"type":"page_viewed","anonymous_id":"a1","url":"/"}\'';
    showNotice([
      el('strong', { text: 'No events between ' + state.from + ' and ' + state.to + '. ' }),
      document.createTextNode('Widen the date range, or send some: load the tracker in your shop’s pages with its write key,'),
      el('pre', { text: snippet }),
      document.createTextNode('or post an event from a terminal:'),
      el('pre', { text: curl }),
    ]);
  }

  async function loadTrend(gen) {
    const box = $('trend-chart');
    const days = daysBetween(state.from, state.to);
    let interval = $('interval').value;
    if (!interval) interval = days <= 2 ? 'hour' : days > 120 ? 'week' : 'day';
    const metric = $('metric').value;
    try {
      const currency = metric === 'revenue' ? state.currency : '';
      const svg = await getSVG('api/charts/timeseries.svg', { ...query(), metric, interval, currency, ...chartSize(box) });
      if (gen !== state.generation) return;
      inlineSVG(box, svg, stepName(metric) + ' per ' + interval);
    } catch (err) {
      if (gen !== state.generation) return;
      box.replaceChildren(el('p', { class: 'error', text: 'The chart could not be drawn. ' + explain(err) }));
    }
  }

  async function loadFunnel(gen) {
    const box = $('funnel-chart');
    const table = $('funnel-table');
    const params = { ...query(), steps: FUNNEL_STEPS.join(','), by: $('funnel-by').value };
    try {
      const [svg, f] = await Promise.all([
        getSVG('api/charts/funnel.svg', { ...params, ...chartSize(box) }),
        getJSON('api/funnel', params),
      ]);
      if (gen !== state.generation) return;
      inlineSVG(box, svg, 'Funnel from product view to purchase');
      fillTable(table, f.steps.map((st, i) => [
        { text: stepName(st.event_name) },
        num(st.count),
        { text: i === 0 ? '—' : fmtPct(st.conversion_from_previous), class: 'num' },
        { text: i === 0 ? '—' : fmtDuration(st.median_seconds_from_previous), class: 'num opt' },
      ]), 'No steps.');
    } catch (err) {
      if (gen !== state.generation) return;
      const text = 'The funnel could not be loaded. ' + explain(err);
      box.replaceChildren(el('p', { class: 'error', text }));
      tableError(table, text);
    }
  }

  async function loadProducts(gen) {
    const table = $('products');
    try {
      const r = await getJSON('api/top-products', { ...query(), by: $('products-by').value, limit: 10, currency: state.currency });
      if (gen !== state.generation) return;
      const cur = r.currency ? r.currency + ' ' : '';
      fillTable(table, r.products.map((p) => [
        { node: productCell(p) },
        num(p.views, 'opt'), num(p.adds, 'opt'), num(p.purchases),
        { text: cur + fmtMoney(p.revenue), class: 'num' },
      ]), 'No product was viewed, added or bought in this range.');
    } catch (err) {
      if (gen === state.generation) tableError(table, explain(err));
    }
  }

  function productCell(p) {
    const name = p.product_name || p.product_id;
    const cell = el('span', { text: name });
    if (p.product_name && p.product_name !== p.product_id) {
      cell.append(el('span', { class: 'empty opt', text: ' · ' + p.product_id }));
    }
    return cell;
  }

  async function loadCustomers(gen) {
    const table = $('customers');
    try {
      const r = await getJSON('api/top-customers', { ...query(), limit: 10, currency: state.currency });
      if (gen !== state.generation) return;
      const cur = r.currency ? r.currency + ' ' : '';
      fillTable(table, r.customers.map((c) => [
        { text: c.user_id }, num(c.orders), { text: cur + fmtMoney(c.revenue), class: 'num' },
      ]), 'Nobody bought anything in this range.');
    } catch (err) {
      if (gen === state.generation) tableError(table, explain(err));
    }
  }

  // breakable lets a long value (a host, a path) wrap after its dots and
  // slashes rather than in the middle of a word.
  function breakable(text) {
    const f = document.createDocumentFragment();
    for (const part of String(text).split(/(?<=[./_\-?&=])/)) {
      if (f.childNodes.length) f.append(document.createElement('wbr'));
      f.append(part);
    }
    return f;
  }

  // amounts shows totals of several currencies, one a line.
  function amounts(list) {
    const f = document.createDocumentFragment();
    for (const a of list) f.append(el('span', { class: 'amount', text: a.currency + ' ' + fmtMoney(a.total) }));
    return f;
  }

  const dimensionNames = {
    page: 'Page', referrer: 'Referrer', category: 'Category', utm_source: 'UTM source',
    utm_medium: 'UTM medium', utm_campaign: 'UTM campaign', product: 'Product',
  };

  async function loadBreakdown(gen) {
    const table = $('breakdown');
    const dim = $('dimension').value;
    $('breakdown-dim').textContent = dimensionNames[dim] || dim;
    try {
      const r = await getJSON('api/breakdown', { ...query(), dimension: dim, limit: 10 });
      if (gen !== state.generation) return;
      fillTable(table, r.rows.map((row) => [
        { node: breakable(row.value || '(none)') },
        num(row.events), num(row.sessions, 'opt'), num(row.users, 'opt'), num(row.purchases),
        row.revenue.length ? { node: amounts(row.revenue), class: 'num' } : { text: '—', class: 'num' },
      ]), 'No event in this range has a ' + (dimensionNames[dim] || dim).toLowerCase() + '.');
    } catch (err) {
      if (gen === state.generation) tableError(table, explain(err));
    }
  }

  async function loadInsights(gen) {
    const box = $('insights');
    let r;
    try {
      r = await getJSON('api/insights', { shop: state.shop, tz: state.tz });
    } catch (err) {
      if (gen !== state.generation) return;
      if (err instanceof APIError && err.status === 404 && !err.field) {
        box.replaceChildren(el('p', { class: 'empty', text: 'Insights are not available on this server: it has no GET /api/insights. ' +
          'They appear here once the server runs a version with the insight rules.' }));
        return;
      }
      box.replaceChildren(el('p', { class: 'error', text: explain(err) }));
      return;
    }
    if (gen !== state.generation) return;
    const list = r.insights || [];
    if (!list.length) {
      box.replaceChildren(el('p', { class: 'empty', text: 'No insights yet. Rules check the shop’s figures on a schedule ' +
        'and raise one when something stands out, such as a drop in conversion or a product that is viewed but not bought.' }));
      return;
    }
    box.replaceChildren(...list.slice(0, 20).map(insightNode));
  }

  function insightNode(ins) {
    const sev = String(ins.severity || 'info').toLowerCase();
    const node = el('article', { class: 'insight ' + sev },
      el('h3', {}, el('span', { class: 'badge ' + sev, text: sev }), document.createTextNode(ins.title || ins.rule)),
      el('p', { text: ins.message || '' }));
    const meta = [ins.rule, ins.subject ? 'about ' + ins.subject : '', ins.created_at ? fmtTime(ins.created_at, true) : '',
      ins.resolved_at ? 'resolved ' + fmtTime(ins.resolved_at, true) : ''].filter(Boolean).join(' · ');
    node.append(el('p', { class: 'meta', text: meta }));
    const ev = ins.evidence && typeof ins.evidence === 'object' ? Object.entries(ins.evidence) : [];
    if (ev.length) {
      const dl = el('dl', { class: 'evidence' });
      for (const [k, v] of ev) {
        dl.append(el('dt', { text: k.replace(/_/g, ' ') }), el('dd', { text: typeof v === 'object' ? JSON.stringify(v) : String(v) }));
      }
      node.append(el('details', {}, el('summary', { text: 'Evidence' }), dl));
    }
    return node;
  }

  // ---- live feed -----------------------------------------------------------

  function stopLive() {
    if (state.live) state.live.abort();
    state.live = null;
  }

  function liveStatus(text, on) {
    const s = $('live-status');
    s.textContent = text;
    s.classList.toggle('on', !!on);
  }

  // startLive reads GET /api/live with fetch (EventSource cannot send the
  // key), parses its Server-Sent Events and reconnects after a failure,
  // waiting longer each time.
  async function startLive() {
    stopLive();
    const ctl = new AbortController();
    state.live = ctl;
    $('live').replaceChildren();
    let wait = 2000;
    while (!ctl.signal.aborted) {
      let res;
      try {
        liveStatus('connecting…');
        res = await fetch(apiURL('api/live', { shop: state.shop }), {
          headers: { Authorization: 'Bearer ' + state.key, Accept: 'text/event-stream' },
          signal: ctl.signal, cache: 'no-store',
        });
      } catch (err) {
        if (ctl.signal.aborted) return;
        res = null;
      }
      if (res && res.status === 404) {
        liveStatus('not available');
        $('live').replaceChildren(el('li', { class: 'empty', text: 'This server has no live feed (GET /api/live). ' +
          'Events still count above; press Show to refresh.' }));
        return;
      }
      if (res && (res.status === 401 || res.status === 403)) {
        liveStatus('refused');
        explain(new APIError(res.status, 'refused'));
        return;
      }
      if (res && res.ok && res.body) {
        liveStatus('connected', true);
        if (!$('live').children.length) {
          $('live').append(el('li', { class: 'empty', 'data-placeholder': '1', text: 'Waiting for events… they appear here as they arrive.' }));
        }
        wait = 2000;
        try {
          await readEvents(res.body, ctl.signal, addLive);
        } catch (_) { /* the stream broke: reconnect */ }
        if (ctl.signal.aborted) return;
      }
      liveStatus('reconnecting in ' + Math.round(wait / 1000) + ' s');
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(wait * 2, 60000);
    }
  }

  // readEvents parses a text/event-stream body and calls onEvent(data) for
  // each "event: event" (or unnamed) message; comments are heartbeats.
  async function readEvents(body, signal, onEvent) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    signal.addEventListener('abort', () => reader.cancel().catch(() => {}), { once: true });
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buf.search(/\r?\n\r?\n/)) >= 0) {
        const block = buf.slice(0, cut);
        buf = buf.slice(cut).replace(/^\r?\n\r?\n/, '');
        let name = 'message';
        const data = [];
        for (const line of block.split(/\r?\n/)) {
          if (line === '' || line.startsWith(':')) continue;
          const i = line.indexOf(':');
          const field = i < 0 ? line : line.slice(0, i);
          let val = i < 0 ? '' : line.slice(i + 1);
          if (val.startsWith(' ')) val = val.slice(1);
          if (field === 'event') name = val;
          else if (field === 'data') data.push(val);
        }
        if (data.length && (name === 'event' || name === 'message')) onEvent(data.join('\n'));
      }
    }
  }

  function addLive(data) {
    let ev;
    try { ev = JSON.parse(data); } catch (_) { return; }
    const list = $('live');
    const ph = list.querySelector('[data-placeholder]');
    if (ph) ph.remove();
    const what = ev.product_name || ev.product_id || (ev.url ? safePath(ev.url) : '') ||
      (ev.revenue ? (ev.currency || '') + ' ' + ev.revenue : '');
    const li = el('li', {},
      el('time', { dateTime: ev.timestamp || '', text: fmtTime(ev.timestamp || Date.now()) }),
      el('span', { class: 'type', text: ev.type || 'event' }),
      el('span', { text: what || '' }),
      el('span', { class: 'who', text: ev.user_id || ev.anonymous_id || ev.session_id || '' }));
    list.prepend(li);
    while (list.children.length > LIVE_MAX) list.lastChild.remove();
  }

  function safePath(u) {
    try { return new URL(u).pathname; } catch (_) { return u; }
  }

  // ---- export --------------------------------------------------------------

  async function exportEvents(format, button) {
    const status = $('export-status');
    button.disabled = true;
    status.textContent = 'Preparing the ' + format.toUpperCase() + ' file…';
    try {
      const res = await request('api/export', { ...query(), format }, format === 'csv' ? 'text/csv' : 'application/x-ndjson');
      const blob = await res.blob();
      const name = 'shoplytics-' + state.shop + '-' + state.from + '-to-' + state.to + '.' + format;
      const a = el('a', { href: URL.createObjectURL(blob), download: name });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 60000);
      status.textContent = 'Saved ' + name + ' (' + fmtInt(Math.ceil(blob.size / 1024)) + ' KiB).';
    } catch (err) {
      status.textContent = 'The export failed. ' + explain(err);
    } finally {
      button.disabled = false;
    }
  }

  // ---- loading the view ----------------------------------------------------

  async function loadAll() {
    const gen = ++state.generation;
    if (!validZone(state.tz)) {
      showNotice([document.createTextNode('“' + state.tz + '” is not a time zone this browser knows. Pick one from the list, such as Europe/Berlin or UTC.')], true);
      return;
    }
    if (!state.from || !state.to || state.from > state.to) {
      showNotice([document.createTextNode('The start date must be on or before the end date.')], true);
      return;
    }
    writeHash();
    const q = new URLSearchParams(query()).toString();
    document.body.dataset.query = q;
    document.body.dataset.state = 'loading';
    $('from').value = state.from;
    $('to').value = state.to;
    $('tz').value = state.tz;
    const results = await Promise.allSettled([
      loadStats(gen), loadTrend(gen), loadFunnel(gen), loadProducts(gen), loadCustomers(gen),
      loadBreakdown(gen), loadInsights(gen),
    ]);
    if (gen !== state.generation || !state.key) return;
    const stats = results[0].status === 'fulfilled' ? results[0].value : null;
    document.body.dataset.state = !stats ? 'error' : stats.events === 0 ? 'empty' : 'ready';
    startLive();
  }

  function writeHash() {
    const p = new URLSearchParams({ from: state.from, to: state.to, tz: state.tz });
    if (state.admin) p.set('shop', state.shop);
    history.replaceState(null, '', '#' + p.toString());
  }

  function readHash() {
    return new URLSearchParams(location.hash.slice(1));
  }

  // ---- signing in and out --------------------------------------------------

  async function signIn(key) {
    const err = $('signin-error');
    err.hidden = true;
    const button = $('signin-form').querySelector('button');
    button.disabled = true;
    let answer;
    try {
      answer = await getJSON('api/shops', {}, key);
    } catch (e) {
      button.disabled = false;
      sessionStorage.removeItem(KEY_STORE);
      err.textContent = e instanceof APIError && e.status === 401 ? refusedText :
        e instanceof APIError ? 'The server answered ' + e.status + ': ' + e.message + '.' : e.message;
      err.hidden = false;
      document.body.dataset.state = e instanceof APIError && e.status === 401 ? 'refused' : 'signed-out';
      $('key').focus();
      return;
    }
    button.disabled = false;
    state.key = key;
    sessionStorage.setItem(KEY_STORE, key);
    state.admin = !!answer.admin;
    state.shops = answer.shops || [];
    const h = readHash();
    const named = h.get('shop');
    if (state.admin) {
      const sel = $('shop-select');
      sel.replaceChildren(...state.shops.map((s) => el('option', { value: s.id, text: s.id })));
      $('shop-area').hidden = false;
      sel.hidden = !state.shops.length;
      $('shop-input').hidden = !!state.shops.length;
      state.shop = named || (state.shops[0] ? state.shops[0].id : '');
      if (state.shops.length) sel.value = state.shop;
      else $('shop-input').value = state.shop;
    } else {
      $('shop-area').hidden = true;
      state.shop = state.shops[0] ? state.shops[0].id : '';
    }
    state.tz = h.get('tz') || shopZone();
    if (h.get('from') && h.get('to')) {
      state.from = h.get('from');
      state.to = h.get('to');
    } else {
      setLastDays(30);
    }
    $('signin').hidden = true;
    $('dash').hidden = false;
    $('sign-out').hidden = false;
    $('key').value = '';
    if (state.admin && !state.shop) {
      showNotice([document.createTextNode('This admin key lists no shops: type a shop id at the top to read it.')]);
      document.body.dataset.state = 'empty';
      return;
    }
    loadAll();
  }

  function shopZone() {
    const s = state.shops.find((x) => x.id === state.shop);
    return (s && s.timezone) || 'UTC';
  }

  function signOut(message) {
    stopLive();
    state.generation++;
    state.key = '';
    sessionStorage.removeItem(KEY_STORE);
    $('dash').hidden = true;
    $('sign-out').hidden = true;
    $('shop-area').hidden = true;
    $('signin').hidden = false;
    const err = $('signin-error');
    err.textContent = message || '';
    err.hidden = !message;
    document.body.dataset.state = message ? 'refused' : 'signed-out';
    delete document.body.dataset.query;
  }

  // ---- wiring --------------------------------------------------------------

  function init() {
    $('signin-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const key = $('key').value.trim();
      if (key) signIn(key);
    });
    $('sign-out').addEventListener('click', () => signOut(''));
    $('range').addEventListener('submit', (e) => {
      e.preventDefault();
      state.from = $('from').value;
      state.to = $('to').value;
      state.tz = $('tz').value.trim() || 'UTC';
      loadAll();
    });
    for (const b of document.querySelectorAll('[data-days]')) {
      b.addEventListener('click', () => {
        state.tz = $('tz').value.trim() || state.tz;
        setLastDays(Number(b.dataset.days));
        loadAll();
      });
    }
    $('shop-select').addEventListener('change', (e) => {
      state.shop = e.target.value;
      state.tz = shopZone();
      state.currency = '';
      loadAll();
    });
    $('shop-input').addEventListener('change', (e) => {
      state.shop = e.target.value.trim();
      if (state.shop) loadAll();
    });
    const gen = () => state.generation;
    $('metric').addEventListener('change', () => loadTrend(gen()));
    $('interval').addEventListener('change', () => loadTrend(gen()));
    $('funnel-by').addEventListener('change', () => loadFunnel(gen()));
    $('products-by').addEventListener('change', () => loadProducts(gen()));
    $('currency').addEventListener('change', (e) => {
      state.currency = e.target.value;
      if ($('metric').value === 'revenue') loadTrend(gen());
      loadProducts(gen());
      loadCustomers(gen());
    });
    $('dimension').addEventListener('change', () => loadBreakdown(gen()));
    for (const b of document.querySelectorAll('[data-export]')) {
      b.addEventListener('click', () => exportEvents(b.dataset.export, b));
    }
    // Charts are drawn for their width: draw again after a real resize.
    let lastWidth = window.innerWidth;
    let timer = 0;
    window.addEventListener('resize', () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (!state.key || Math.abs(window.innerWidth - lastWidth) < 40) return;
        lastWidth = window.innerWidth;
        loadTrend(gen());
        loadFunnel(gen());
      }, 300);
    });
    const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
    $('tz-list').replaceChildren(...['UTC', ...zones].map((z) => el('option', { value: z })));

    const saved = sessionStorage.getItem(KEY_STORE);
    if (saved) signIn(saved);
    else $('key').focus();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
