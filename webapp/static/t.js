/* SourceLoop pixel. Paste the snippet from Setup → Tracking; it never throws into your page.
   API: sourceloop('track', 'form_submitted', {value: 49.9, currency: 'USD', email: '...', phone: '...'})
        sourceloop('page')          report a page view (single-page apps after a route change)
        sourceloop('consent', {ad_storage: 'granted'|'denied'})   the visitor's choice
        sourceloop.visitorId()      the first-party visitor id (pass it to Stripe as client_reference_id)
   With data-consent="required" on the script tag, nothing is stored in the browser (no cookie, no
   local storage) and no ad click id leaves the page until ad storage is granted, by the consent
   call or by the IAB TCF v2.2 API (__tcfapi, purposes 1 and 7) when the page has one. */
(function (w, d) {
  "use strict";
  var COOKIE = "_sl_vid", TWO_YEARS = 63072000;
  // The click-id parameters of the installed platform plugins, filled in when /t.js is served.
  var CLICK = /*CLICK_PARAMS*/[];
  // Platform browser tags (capability realtime_events) of the connections that opted in come
  // from /t/tags.js, which hands them to sourceloop.tags(); they report the pixel's event ids.
  var tagList = null, tags = null, tagQueue = [], tagsUrl;
  var UTM = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "utm_id"];
  var PROPS = ["value", "currency", "email", "phone"];
  var endpoint, vid, required = false, held = null;
  // Consent to ad storage and where it came from: pixel call, tcf, default (nothing said yet).
  var consent = { a: "unknown", s: "default" };

  function noop() {}
  function guard(fn) {
    return function () {
      try { return fn.apply(this, arguments); } catch (e) { return undefined; }
    };
  }
  function rid() {
    var a = new Uint8Array(16), s = "", i;
    if (w.crypto && w.crypto.getRandomValues) { w.crypto.getRandomValues(a); }
    else { for (i = 0; i < 16; i++) { a[i] = Math.floor(Math.random() * 256); } }
    for (i = 0; i < 16; i++) { s += ("0" + a[i].toString(16)).slice(-2); }
    return s;
  }
  function readCookie(name) {
    var m = d.cookie.match(new RegExp("(?:^|; )" + name + "=([A-Za-z0-9_-]{8,64})"));
    return m ? m[1] : null;
  }
  function writeCookie(name, value) {
    var base = name + "=" + value + "; path=/; max-age=" + TWO_YEARS + "; SameSite=Lax" +
      (location.protocol === "https:" ? "; Secure" : "");
    var parts = location.hostname.split("."), i, domain;
    if (/^[\d.]+$/.test(location.hostname) || parts.length < 2) { d.cookie = base; return; }
    // The broadest domain the browser accepts, so www. and shop. share one visitor.
    for (i = parts.length - 2; i >= 0; i--) {
      domain = parts.slice(i).join(".");
      d.cookie = base + "; domain=" + domain;
      if (readCookie(name) === value) { return; }
    }
    d.cookie = base;
  }
  function forget() {
    // Consent withdrawn: remove what an earlier page stored, on every domain it may be set on.
    var parts = location.hostname.split("."), i;
    d.cookie = COOKIE + "=; path=/; max-age=0";
    for (i = parts.length - 2; i >= 0; i--) {
      d.cookie = COOKIE + "=; path=/; max-age=0; domain=" + parts.slice(i).join(".");
    }
    try { w.localStorage.removeItem(COOKIE); } catch (e) { /* storage blocked */ }
  }
  function allowed() { return !required || consent.a === "granted"; }
  function visitor() {
    if (!allowed()) {
      // Not even read: an id for this page only, forgotten when the visitor leaves it.
      vid = vid || rid();
      return vid;
    }
    if (!vid) {
      vid = readCookie(COOKIE);
      try { vid = vid || w.localStorage.getItem(COOKIE); } catch (e) { /* storage blocked */ }
      if (!vid || !/^[A-Za-z0-9_-]{8,64}$/.test(vid)) { vid = rid(); }
    }
    writeCookie(COOKIE, vid);
    try { w.localStorage.setItem(COOKIE, vid); } catch (e) { /* storage blocked */ }
    return vid;
  }
  function pick(search, names) {
    var out = {}, any = false, i, v;
    try {
      var params = new URLSearchParams(search);
      for (i = 0; i < names.length; i++) {
        v = params.get(names[i]);
        if (v) { out[names[i]] = v.slice(0, 255); any = true; }
      }
    } catch (e) { /* old browser */ }
    return any ? out : null;
  }
  function scrub(href) {
    // Without consent the page address is sent without its click-id parameters.
    if (allowed() || !CLICK.length) { return href; }
    try {
      var url = new URL(href), i;
      for (i = 0; i < CLICK.length; i++) { url.searchParams["delete"](CLICK[i]); }
      return url.href;
    } catch (e) { return href.split("?")[0]; }
  }
  function send(data) {
    if (!endpoint) { return; }
    data.v = visitor();
    data.u = scrub(location.href).slice(0, 2048);
    data.ts = Date.now();
    data.cs = { a: consent.a, s: consent.s };
    var body = JSON.stringify(data);
    var nav = w.navigator;
    // text/plain keeps the request "simple": no CORS preflight, and beacons survive unload.
    if (nav.sendBeacon && nav.sendBeacon(endpoint, new Blob([body], { type: "text/plain" }))) { return; }
    if (w.fetch) {
      w.fetch(endpoint, { method: "POST", body: body, keepalive: true, credentials: "omit",
        headers: { "Content-Type": "text/plain" } })["catch"](noop);
    }
  }
  function page() {
    var data = { t: "pageview", r: d.referrer.slice(0, 2048) };
    var c = pick(location.search, CLICK), m = pick(location.search, UTM);
    if (c && !allowed()) { held = c; c = null; }  // kept in memory for this page only
    if (c) { data.c = c; }
    if (m) { data.m = m; }
    send(data);
  }
  function track(event, props) {
    var p = {}, i, k, id = rid(), name = String(event).slice(0, 64);
    props = props || {};
    for (i = 0; i < PROPS.length; i++) {
      k = PROPS[i];
      if (props[k] !== undefined && props[k] !== null && props[k] !== "") {
        p[k] = k === "value" ? String(props[k]) : String(props[k]).slice(0, 254);
      }
    }
    send({ t: "event", e: name, id: id, p: p });
    // Browser tags get the same id (never the email or phone).
    tagEvent(name, id, { value: p.value, currency: p.currency });
  }
  function tagEvent(name, id, props) {
    var i;
    if (!tags) { if (tagQueue.length < 50) { tagQueue.push([name, id, props]); } return; }
    for (i = 0; i < tags.length; i++) {
      if (tags[i].events.indexOf(name) >= 0 && tags[i].h.event) { guard(tags[i].h.event)(name, id, props); }
    }
  }
  function startTags() {
    if (tags || !tagList || !allowed()) { return; }
    var api = { consent: function () { return consent.a; }, visitorId: guard(visitor) }, i, t, h;
    tags = [];
    for (i = 0; i < tagList.length; i++) {
      t = tagList[i];
      if (t && typeof t.run === "function" && t.events && t.events.indexOf) {
        h = guard(t.run)(t.config || {}, api);
        if (h) { tags.push({ events: t.events, h: h }); }
      }
    }
    var queued = tagQueue;
    tagQueue = [];
    for (i = 0; i < queued.length; i++) { tagEvent(queued[i][0], queued[i][1], queued[i][2]); }
  }
  function loadTags() {
    var s = d.createElement("script");
    s.src = tagsUrl;
    s.async = true;
    (d.head || d.documentElement).appendChild(s);
  }
  function field(form, selector) {
    var el = form.querySelector(selector);
    return el && el.value ? el.value : undefined;
  }
  function onSubmit(e) {
    var form = e.target;
    if (!form || form.tagName !== "FORM" || form.getAttribute("data-sourceloop") === "ignore") { return; }
    track(form.getAttribute("data-sourceloop-event") || "form_submitted", {
      value: form.getAttribute("data-sourceloop-value") || undefined,
      currency: form.getAttribute("data-sourceloop-currency") || undefined,
      email: field(form, "input[type=email], input[name*=email i]"),
      phone: field(form, "input[type=tel], input[name*=phone i]")
    });
  }
  function setConsent(state, source, report) {
    if ((state !== "granted" && state !== "denied") ||
        (state === consent.a && source === consent.s)) { return; }
    consent = { a: state, s: source };
    if (required && state === "denied") { forget(); }
    if (tags) {
      for (var i = 0; i < tags.length; i++) { if (tags[i].h.consent) { guard(tags[i].h.consent)(state); } }
    } else { startTags(); }
    if (!report) { return; }
    var data = { t: "consent" };
    if (state === "granted" && held) { data.c = held; held = null; }
    send(data);  // when granted, send() -> visitor() now writes the cookie
  }
  function readTcf(report) {
    if (typeof w.__tcfapi !== "function") { return; }
    w.__tcfapi("addEventListener", 2, guard(function (tc, ok) {
      if (!ok || !tc || (tc.eventStatus !== "tcloaded" && tc.eventStatus !== "useractioncomplete")) {
        return;
      }
      var p = (tc.purpose && tc.purpose.consents) || {};
      // GDPR not applying needs no consent; else storage (1) and measurement (7) must be given.
      setConsent(tc.gdprApplies === false || (p[1] && p[7]) ? "granted" : "denied", "tcf",
        report.on);
    }));
  }
  function api(command, a, b) {
    if (command === "track") { track(a, b); }
    else if (command === "page") { page(); }
    else if (command === "consent" && a) { setConsent(a.ad_storage, "pixel", true); }
  }

  guard(function () {
    var script = d.currentScript;
    if (!script) {
      var all = d.getElementsByTagName("script"), i;
      for (i = 0; i < all.length; i++) {
        if (/\/t\.js(\?|$)/.test(all[i].src)) { script = all[i]; }
      }
    }
    if (!script || !script.src) { return; }
    var key = script.getAttribute("data-key");
    if (!key) { return; }
    endpoint = script.src.replace(/\/t\.js(\?.*)?$/, "/collect") + "?k=" + encodeURIComponent(key);
    tagsUrl = script.src.replace(/\/t\.js(\?.*)?$/, "/t/tags.js") + "?k=" + encodeURIComponent(key);
    required = script.getAttribute("data-consent") === "required";
    var queued = (w.sourceloop && w.sourceloop.q) || [], report = { on: false };
    var fn = guard(api);
    fn.visitorId = guard(visitor);
    fn.tags = guard(function (list) { tagList = tagList || list || []; startTags(); });
    fn.loaded = true;
    w.sourceloop = fn;
    if (script.getAttribute("data-forms") === "auto") {
      d.addEventListener("submit", guard(onSubmit), true);
    }
    // Consent said before the pixel loaded (queued, or a CMP that answers at once) applies to
    // the first page view rather than following it.
    for (var j = 0; j < queued.length; j++) {
      if (queued[j][0] === "consent" && queued[j][1]) {
        guard(setConsent)(queued[j][1].ad_storage, "pixel", false);
      }
    }
    guard(readTcf)(report);
    guard(loadTags)();
    page();
    report.on = true;
    for (j = 0; j < queued.length; j++) {
      if (queued[j][0] !== "consent") { fn.apply(null, queued[j]); }
    }
  })();
})(window, document);
