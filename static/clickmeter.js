/* Clickmeter beacon. Served minified at /c.js; a size budget of 2 KB gzipped is checked by tests.
 * <script defer src="https://analytics.example.com/c.js" data-property="prop_…" data-key="wk_…"></script>
 * Optional: data-token (instead of data-key), data-api, data-hash, data-consent="granted",
 * data-respect-dnt, data-outbound, data-downloads="pdf,zip". API: clickmeter.track(type, data),
 * clickmeter.consent(bool), clickmeter.identify(userIdHash, traits) (traits: the user's properties, sent as an
 * "identify" event), clickmeter.flush() (send what is queued now),
 * clickmeter.reset() (forget the ids, as on sign-out).
 * No cookies; no storage unless consent is given. Never throws into the page. */
(function () {
  var w = window, d = document, n = navigator, s = d.currentScript;
  var noop = function () {};
  try {
    if (!s || w.clickmeter) return;
    var attr = function (k) { return s.getAttribute("data-" + k); };
    if (attr("respect-dnt") != null && (n.doNotTrack == "1" || n.globalPrivacyControl)) {
      w.clickmeter = { track: noop, consent: noop, identify: noop, flush: noop, reset: noop };
      return;
    }
    var token = attr("token"), prop = attr("property"), hashRoutes = attr("hash") != null;
    var url = (attr("api") || new URL(s.src).origin).replace(/\/$/, "") + "/v1/events?" +
      (token ? "token=" + encodeURIComponent(token) : "key=" + encodeURIComponent(attr("key")));
    var queue = [], timer = 0, last, consented = attr("consent") == "granted", userHash;

    var uuid = function () {
      var c = w.crypto;
      return c.randomUUID ? c.randomUUID() : "10000000-1000-4000-8000-100000000000".replace(/[018]/g, function (x) {
        return (x ^ (c.getRandomValues(new Uint8Array(1))[0] & (15 >> (x / 4)))).toString(16);
      });
    };
    var stored = function (store, name) {
      var v = store.getItem(name);
      if (!v) store.setItem(name, v = uuid());
      return v;
    };
    var identity = function () {
      var i = {};
      if (consented) {
        try {
          i.visitor_id = stored(localStorage, "cm_vid");
          i.session_id = stored(sessionStorage, "cm_sid");
        } catch (x) {}
      }
      if (userHash) i.user_id_hash = userHash;
      return i;
    };
    var campaign = function () {
      var q = new URLSearchParams(location.search), c = {}, utm = {};
      ["source", "medium", "campaign", "term", "content"].forEach(function (k) {
        if (q.get("utm_" + k)) c.utm = utm, utm[k] = q.get("utm_" + k);
      });
      if (q.get("campaign_id")) c.campaign_id = q.get("campaign_id");
      return c;
    };

    var send = function (events, attempt, leaving) {
      var body = JSON.stringify({ schema_version: 1, property_id: prop, sent_at: new Date().toISOString(), events: events });
      if (leaving && n.sendBeacon && n.sendBeacon(url, body)) return;
      var retry = function (after) {
        if (attempt < 8) setTimeout(function () { send(events, attempt + 1); }, after > 0 ? after * 1e3 : 500 << attempt);
      };
      fetch(url, { method: "POST", body: body, keepalive: body.length < 6e4, credentials: "omit" }).then(function (r) {
        if (r.status == 429 || r.status > 499) retry(+r.headers.get("Retry-After"));
      }, retry);
    };
    var flush = function (leaving) {
      clearTimeout(timer);
      timer = 0;
      while (queue.length) send(queue.splice(0, 100), 0, leaving);
    };
    var track = function (type, data) {
      try {
        var e = {
          event_id: uuid(), type: String(type), ts: new Date().toISOString(),
          context: {
            page: { url: location.href, path: location.pathname + (hashRoutes ? location.hash : ""), title: d.title, referrer: d.referrer },
            campaign: campaign()
          },
          identity: identity()
        };
        if (data) e.data = data;
        queue.push(e);
        if (queue.length > 9) flush();
        else timer = timer || setTimeout(flush, 2e3);
      } catch (x) {}
    };
    var page = function () {
      var here = location.pathname + location.search + (hashRoutes ? location.hash : "");
      if (here != last) track("pageview"), last = here;
    };

    ["pushState", "replaceState"].forEach(function (m) {
      var original = history[m];
      history[m] = function () {
        var result = original.apply(this, arguments);
        page();
        return result;
      };
    });
    w.addEventListener("popstate", page);
    if (hashRoutes) w.addEventListener("hashchange", page);
    w.addEventListener("pagehide", function () { flush(1); });
    d.addEventListener("visibilitychange", function () { if (d.visibilityState == "hidden") flush(1); });

    var downloads = attr("downloads"), outbound = attr("outbound") != null;
    if (outbound || downloads != null) {
      d.addEventListener("click", function (ev) {
        try {
          var link = ev.target.closest("a[href]"), to = link && new URL(link.href, location.href);
          if (!to) return;
          if (downloads != null && (downloads || "pdf,zip,dmg,exe,csv,xlsx,docx").split(",").indexOf(to.pathname.split(".").pop()) > -1) {
            track("download", { url: to.href });
          } else if (outbound && to.host != location.host && /^https?:$/.test(to.protocol)) {
            track("outbound", { url: to.href });
          }
        } catch (x) {}
      }, true);
    }

    var forget = function () {
      try {
        localStorage.removeItem("cm_vid");
        sessionStorage.removeItem("cm_sid");
      } catch (x) {}
    };
    w.clickmeter = {
      track: track,
      consent: function (yes) {
        consented = !!yes;
        if (!yes) forget();
      },
      identify: function (hash, traits) {
        userHash = hash ? String(hash) : 0;
        if (userHash && traits) track("identify", traits);
      },
      flush: function () { flush(); },
      reset: function () { flush(); userHash = 0; forget(); }
    };
    page();
  } catch (x) {}
})();
