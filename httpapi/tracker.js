/*! shoplytics tracker: sends a shop's browser events to POST /events.
 *
 * Load it with the queue snippet (README, "The browser tracker"), so that
 * calls made before it arrives are kept:
 *
 *   shoplytics.init({apiKey: "wk_...", endpoint: "https://shop.example/analytics", shopId: "..."})
 *   shoplytics.track("add_to_cart", {product_id: "p1", price: "19.99", currency: "EUR"})
 *   shoplytics.identify("customer-42", {plan: "gold"})
 *   shoplytics.page()          // automatic on load and on history changes unless autoPage: false
 *   shoplytics.optOut()        // nothing more is sent from this browser; optIn() undoes it
 *
 * The anonymous id and the session live in localStorage (no cookies). A
 * session ends after 30 minutes without an event. Events are batched and
 * sent with fetch(keepalive) or, when the page is hidden, navigator.sendBeacon;
 * failed sends wait in a small queue in localStorage and are retried. With
 * Do-Not-Track or Global Privacy Control on, nothing is stored or sent.
 */
(function (w, d) {
  'use strict';
  var prev = w.shoplytics;
  if (prev && prev.loaded) return; // loaded twice: keep the first

  var P = 'shoplytics_'; // localStorage key prefix
  var SESSION_MS = 30 * 60 * 1000;
  var BATCH = 20; // events per request
  var DELAY = 1000; // ms an event may wait for its batch
  var RETRY_MAX = 100; // events kept for retry, oldest dropped first
  // Fields that are top-level in an event; other props go to properties.
  var FIELDS = ['product_id', 'product_name', 'category', 'price', 'quantity', 'revenue',
    'currency', 'order_id', 'session_id', 'user_id', 'url', 'referrer', 'timestamp', 'id'];

  // The endpoint defaults to where this script came from, minus /tracker.js:
  // a handler mounted under /analytics/ serves both.
  var me = d.currentScript;
  var base = me && me.src ? me.src.replace(/[?#].*$/, '').replace(/\/tracker\.js$/, '') : '';

  var cfg = null; // set by init
  var memory = {}; // storage when localStorage is unavailable
  var queue = []; // events waiting for a batch
  var pending = []; // calls made before init
  var timer = 0;
  var retryTimer = 0;
  var backoff = 2000;
  var lastURL = '';

  function get(k) {
    try { return w.localStorage.getItem(P + k); } catch (e) { return memory[k] === undefined ? null : memory[k]; }
  }
  function set(k, v) {
    try {
      if (v === null) w.localStorage.removeItem(P + k); else w.localStorage.setItem(P + k, v);
    } catch (e) {
      if (v === null) delete memory[k]; else memory[k] = v;
    }
  }
  function uid() {
    var b = new Uint8Array(16), s = '';
    w.crypto.getRandomValues(b);
    for (var i = 0; i < 16; i++) s += (b[i] + 256).toString(16).slice(1);
    return s;
  }
  function now() { return new Date().toISOString(); }

  // blocked says whether this browser asked not to be tracked.
  function blocked() {
    if (get('opt_out') === '1') return true;
    if (cfg && cfg.respectDNT === false) return false;
    var n = w.navigator;
    return n.doNotTrack === '1' || w.doNotTrack === '1' || n.msDoNotTrack === '1' || n.globalPrivacyControl === true;
  }

  function anonymousId() {
    var id = get('anonymous_id');
    if (!id) { id = uid(); set('anonymous_id', id); }
    return id;
  }

  // session returns the current session id, starting a new one (and its
  // session_started event) after SESSION_MS without an event.
  function session(at) {
    var id = get('session_id'), last = +get('session_last') || 0;
    set('session_last', String(at));
    if (id && at - last < SESSION_MS) return id;
    id = uid();
    set('session_id', id);
    enqueue({ type: 'session_started', session_id: id, referrer: d.referrer || undefined }, at);
    return id;
  }

  // enqueue completes an event with the ids and context, and queues it.
  function enqueue(ev, at) {
    ev.id = ev.id || uid();
    ev.anonymous_id = anonymousId();
    var user = get('user_id');
    if (user && !ev.user_id) ev.user_id = user;
    if (!ev.session_id) ev.session_id = session(at);
    if (cfg.shopId) ev.shop_id = cfg.shopId;
    if (!ev.url) ev.url = w.location.href;
    ev.user_agent = w.navigator.userAgent;
    ev.timestamp = ev.timestamp || new Date(at).toISOString();
    queue.push(ev);
    if (queue.length >= BATCH) flush();
    else if (!timer) timer = setTimeout(flush, DELAY);
  }

  function track(type, props, at) {
    if (!cfg || blocked() || typeof type !== 'string' || !type) return;
    var ev = { type: type }, extra = null;
    props = props || {};
    for (var k in props) {
      if (!Object.prototype.hasOwnProperty.call(props, k) || props[k] === undefined) continue;
      if (FIELDS.indexOf(k) >= 0) ev[k] = props[k];
      else (extra = extra || {})[k] = props[k];
    }
    if (extra) ev.properties = extra;
    enqueue(ev, at || Date.now());
  }

  function identify(userId, traits, at) {
    if (!cfg || blocked() || userId === undefined || userId === null || userId === '') return;
    set('user_id', String(userId));
    var ev = { type: 'identify', user_id: String(userId) };
    if (traits) ev.properties = traits;
    enqueue(ev, at || Date.now());
  }

  function page(props, at) {
    var ref = lastURL || d.referrer;
    lastURL = w.location.href;
    var p = { title: d.title, path: w.location.pathname };
    for (var k in props || {}) p[k] = props[k];
    if (ref && !p.referrer) p.referrer = ref;
    track('page_viewed', p, at);
  }

  // send posts a batch; beacon says the page is going away. Batches that
  // fail for a reason a retry can fix go to the retry queue.
  function send(events, beacon) {
    if (!events.length) return;
    var url = cfg.endpoint + '/events?key=' + encodeURIComponent(cfg.apiKey);
    // text/plain keeps the request simple (no CORS preflight), which
    // sendBeacon needs and fetch(keepalive) likes; the server reads JSON
    // whatever the type says.
    var body = JSON.stringify({ batch: events, sent_at: now() });
    if (beacon && w.navigator.sendBeacon) {
      var ok = false;
      try { ok = w.navigator.sendBeacon(url, new Blob([body], { type: 'text/plain' })); } catch (e) { /* too large */ }
      if (!ok) keep(events);
      return;
    }
    if (!w.fetch) { keep(events); return; }
    w.fetch(url, { method: 'POST', body: body, keepalive: body.length < 60000, credentials: 'omit',
      headers: { 'Content-Type': 'text/plain' } }).then(function (res) {
      // 4xx but 408 and 429 will fail again the same way: drop the batch.
      if (res.status >= 500 || res.status === 429 || res.status === 408) keep(events);
      else if (res.ok) { backoff = 2000; retrySoon(0); }
    }, function () { keep(events); });
  }

  function flush(beacon) {
    clearTimeout(timer);
    timer = 0;
    while (queue.length) send(queue.splice(0, BATCH), beacon);
  }

  // keep adds events to the retry queue (in storage, so they survive the
  // page), dropping the oldest past RETRY_MAX, and schedules a retry.
  function keep(events) {
    var kept = stored().concat(events).sort(function (a, b) {
      return a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0;
    });
    set('retry', JSON.stringify(kept.slice(-RETRY_MAX)));
    retrySoon(backoff);
    backoff = Math.min(backoff * 2, 60000);
  }
  function stored() {
    try { return JSON.parse(get('retry') || '[]') || []; } catch (e) { return []; }
  }
  function retrySoon(ms) {
    if (retryTimer || !stored().length) return;
    retryTimer = setTimeout(function () {
      retryTimer = 0;
      if (blocked()) { set('retry', null); return; }
      var events = stored();
      set('retry', null);
      while (events.length) send(events.splice(0, BATCH));
    }, ms);
  }

  // onHistory sends a page view when a single-page app changes the URL.
  function onHistory() {
    setTimeout(function () {
      if (w.location.href !== lastURL) page();
    }, 0);
  }
  function patch(name) {
    var orig = w.history[name];
    if (!orig) return;
    w.history[name] = function () {
      var r = orig.apply(this, arguments);
      onHistory();
      return r;
    };
  }

  // Declarative tracking: a click on an element with
  // data-shoplytics-event="add_to_cart" sends that event, with its other
  // data-* attributes as fields (data-product-id → product_id).
  function onClick(e) {
    var el = e.target && e.target.closest && e.target.closest('[data-shoplytics-event]');
    if (!el) return;
    var props = {}, ds = el.dataset;
    for (var k in ds) {
      if (k === 'shoplyticsEvent') continue;
      props[k.replace(/[A-Z]/g, function (c) { return '_' + c.toLowerCase(); })] = ds[k];
    }
    track(ds.shoplyticsEvent, props);
  }

  // A form with data-shoplytics-ids gets hidden anonymous_id and
  // session_id inputs on submit, so the server can record what follows
  // (a purchase) in the same session.
  function onSubmit(e) {
    var f = e.target;
    if (!f || !f.hasAttribute || !f.hasAttribute('data-shoplytics-ids') || blocked() || !cfg) return;
    var ids = { anonymous_id: anonymousId(), session_id: session(Date.now()), user_id: get('user_id') };
    for (var k in ids) {
      if (!ids[k]) continue;
      var input = f.querySelector('input[name="' + k + '"]');
      if (!input) {
        input = d.createElement('input');
        input.type = 'hidden';
        input.name = k;
        f.appendChild(input);
      }
      input.value = ids[k];
    }
  }

  function init(o, at) {
    if (cfg) return;
    o = o || {};
    cfg = {
      apiKey: o.apiKey || o.writeKey || '',
      endpoint: (o.endpoint || base).replace(/\/+$/, ''),
      shopId: o.shopId,
      respectDNT: o.respectDNT,
      autoPage: o.autoPage !== false
    };
    var early = pending;
    pending = [];
    for (var i = 0; i < early.length; i++) call(early[i][0], early[i][1], early[i][2]);
    if (cfg.autoPage) {
      page(undefined, at);
      patch('pushState');
      patch('replaceState');
      w.addEventListener('popstate', onHistory);
    }
    d.addEventListener('click', onClick, true);
    d.addEventListener('submit', onSubmit, true);
    // pagehide covers navigation and closing; visibilitychange covers a
    // tab sent to the background and then killed (mobile).
    w.addEventListener('pagehide', function () { flush(true); });
    d.addEventListener('visibilitychange', function () {
      if (d.visibilityState === 'hidden') flush(true);
    });
    retrySoon(0);
  }

  var api = {
    loaded: true,
    init: function (o) { init(o); },
    track: function (type, props) { call('track', [type, props]); },
    identify: function (userId, traits) { call('identify', [userId, traits]); },
    page: function (props) { call('page', [props]); },
    // reset forgets the user and starts a new anonymous id (a sign-out).
    reset: function () {
      set('user_id', null);
      set('anonymous_id', null);
      set('session_id', null);
    },
    optOut: function () {
      set('opt_out', '1');
      queue = [];
      set('retry', null);
    },
    optIn: function () { set('opt_out', null); },
    flush: function () { if (cfg) flush(); },
    anonymousId: function () { return blocked() ? null : anonymousId(); }
  };

  // call runs a method now, or keeps it until init; at is when the page
  // made the call (queued calls keep their time).
  function call(m, args, at) {
    if (m === 'init') return init(args[0], at);
    if (!cfg) { pending.push([m, args, at]); return; }
    if (m === 'track') track(args[0], args[1], at);
    else if (m === 'identify') identify(args[0], args[1], at);
    else if (m === 'page') page(args[0], at);
    else if (api[m]) api[m].apply(api, args);
  }

  w.shoplytics = api;
  // Replay what the snippet queued, in order.
  var q = (prev && prev.q) || [];
  for (var i = 0; i < q.length; i++) call(q[i][0], q[i][1] || [], q[i][2]);
})(window, document);
