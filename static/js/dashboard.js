// The dashboard's chart, drawn with uPlot from the page's JSON data island (no inline script) and
// resized with its container; without JavaScript the same numbers are in the "Show as table" part.
// Also keeps open "Show as table" parts open while htmx swaps the region around them, and tells the
// server that this browser fetches the breakdown boxes itself.
(function () {
  "use strict";

  var COLORS = { current: "#1d4ed8", fill: "rgba(29, 78, 216, 0.08)", previous: "#6b7280", axis: "#4b5563", grid: "#e5e7eb" };

  function twoDigits(n) {
    return (n < 10 ? "0" : "") + n;
  }

  // The same formats as the page's (apps/reports/templatetags/dashboard.py).
  function formatter(unit) {
    return function (value) {
      if (value == null) return "\u2013";
      if (unit === "duration") {
        var seconds = Math.round(value), hours = Math.floor(seconds / 3600), minutes = Math.floor((seconds % 3600) / 60);
        seconds = seconds % 60;
        if (hours) return hours + "h " + twoDigits(minutes) + "m " + twoDigits(seconds) + "s";
        if (minutes) return minutes + "m " + twoDigits(seconds) + "s";
        return seconds + "s";
      }
      if (unit === "percent") return (Math.round(value * 10) / 10) + "%";
      if (unit === "decimal") return value.toFixed(2);
      return Math.round(value).toLocaleString("en");
    };
  }

  var BUCKET_FORMATS = { hour: "{D} {MMM} {HH}:{mm}", day: "{WWW} {D} {MMM} {YYYY}", week: "Week of {D} {MMM} {YYYY}", month: "{MMMM} {YYYY}" };
  var TICK_FORMATS = { hour: "{HH}:{mm}", day: "{D} {MMM}", week: "{D} {MMM}", month: "{MMM} {YYYY}" };
  var TICK_WIDTH = 64;
  var BUCKET_NAMES = { hour: "Hour", day: "Day", week: "Week", month: "Month" };

  // Whole numbers only on the axis of a count.
  var COUNT_STEPS = [1, 2, 5];
  for (var power = 1; power <= 9; power++) {
    COUNT_STEPS.push(Math.pow(10, power), 2 * Math.pow(10, power), 5 * Math.pow(10, power));
  }

  function chartHeight(width) {
    return width < 480 ? 200 : 260;
  }

  function draw(container) {
    var island = document.getElementById(container.getAttribute("data-chart"));
    if (!island || typeof uPlot === "undefined") return;
    var data = JSON.parse(island.textContent);
    var format = formatter(data.unit);
    // Buckets are the property's wall-clock times written as UTC: show them in UTC.
    var tzDate = function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); };
    var bucketFormat = uPlot.fmtDate(BUCKET_FORMATS[data.interval]);
    var tickFormat = uPlot.fmtDate(TICK_FORMATS[data.interval]);
    var width = container.clientWidth;
    var options = {
      width: width,
      height: chartHeight(width),
      tzDate: tzDate,
      cursor: { y: false, drag: { x: false, y: false } },
      scales: {
        x: { time: true },
        y: { range: function (u, min, max) { return [0, max > 0 ? max * 1.1 : 1]; } }
      },
      series: [
        { label: BUCKET_NAMES[data.interval], value: function (u, ts) { return ts == null ? "\u2013" : bucketFormat(tzDate(ts)); } },
        { label: data.current_label, stroke: COLORS.current, width: 2, fill: COLORS.fill, value: function (u, v) { return format(v); } },
        { label: data.previous_label, stroke: COLORS.previous, width: 1.5, dash: [6, 4], value: function (u, v) { return format(v); } }
      ],
      axes: [
        {
          stroke: COLORS.axis,
          grid: { stroke: COLORS.grid, width: 1 },
          ticks: { stroke: COLORS.grid, width: 1 },
          // Ticks on buckets only, as many as fit.
          splits: function (u) {
            var every = Math.max(1, Math.ceil(data.x.length * TICK_WIDTH / Math.max(u.bbox.width / devicePixelRatio, 1)));
            return data.x.filter(function (x, index) { return index % every === 0; });
          },
          values: function (u, ticks) { return ticks.map(function (ts) { return tickFormat(tzDate(ts)); }); }
        },
        {
          stroke: COLORS.axis,
          grid: { stroke: COLORS.grid, width: 1 },
          ticks: { stroke: COLORS.grid, width: 1 },
          size: 64,
          incrs: data.unit === "count" ? COUNT_STEPS : undefined,
          values: function (u, ticks) { return ticks.map(format); }
        }
      ]
    };
    var plot = new uPlot(options, [data.x, data.current, data.previous], container);
    if (typeof ResizeObserver !== "undefined") {
      var last = width;
      new ResizeObserver(function () {
        var now = container.clientWidth;
        if (now && now !== last) {
          last = now;
          plot.setSize({ width: now, height: chartHeight(now) });
        }
      }).observe(container);
    }
  }

  // The realtime view's stream (Server-Sent Events, apps/reports/views/dashboard.py): each message a
  // list of stored events, shown newest first, and a "clickmeter:live" event on the body, on which
  // htmx fetches the report again.
  var LIVE_ROWS = 20;

  function follow(list) {
    if (!window.EventSource) return;
    var source = new EventSource(list.getAttribute("data-stream"));
    source.onmessage = function (message) {
      JSON.parse(message.data).forEach(function (event) {
        var row = document.createElement("tr");
        [new Date(event.ts).toLocaleTimeString(), event.type, event.path, event.source, event.country, event.device].forEach(function (text) {
          var cell = document.createElement("td");
          cell.textContent = text || "\u2013";
          row.appendChild(cell);
        });
        list.insertBefore(row, list.firstChild);
      });
      while (list.rows.length > LIVE_ROWS) list.deleteRow(-1);
      var waiting = document.getElementById("live-events-waiting");
      if (waiting) waiting.hidden = true;
      document.body.dispatchEvent(new Event("clickmeter:live"));
    };
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-chart]").forEach(draw);
    var live = document.getElementById("live-events");
    if (live) follow(live);
    // htmx runs here: from the next page on, the server leaves the breakdown boxes for it to fetch
    // in parallel (apps/reports/views.py, BOXES_FETCHED_COOKIE).
    if (window.htmx) {
      document.cookie = "clickmeter_js=1; path=/; max-age=31536000; samesite=lax" + (location.protocol === "https:" ? "; secure" : "");
    }
  });

  // A tab switched by htmx puts its choice in the address bar only: carry it into the page's other
  // links to itself (and the tab links' htmx requests) and the custom range form, so following
  // any of them keeps every box on its tab.
  function withParam(url, key, value) {
    var at = url.indexOf("?"), query = new URLSearchParams(at < 0 ? "" : url.slice(at + 1));
    if (value) query.set(key, value); else query.delete(key);
    return (at < 0 ? url : url.slice(0, at)) + "?" + query.toString();
  }

  document.addEventListener("htmx:pushedIntoHistory", function () {
    var current = new URLSearchParams(location.search);
    document.querySelectorAll(".box[id^='box-']").forEach(function (box) {
      var key = box.id.slice("box-".length), value = current.get(key);
      document.querySelectorAll("a[href^='?']").forEach(function (link) {
        if (box.contains(link) && link.closest(".tabs")) return;  // a tab names its own box's choice
        link.setAttribute("href", withParam(link.getAttribute("href"), key, value));
        if (link.hasAttribute("hx-get")) {
          link.setAttribute("hx-get", withParam(link.getAttribute("hx-get"), key, value));
          link.setAttribute("hx-push-url", withParam(link.getAttribute("hx-push-url"), key, value));
          window.htmx.process(link);
        }
      });
      document.querySelectorAll("form.custom-range").forEach(function (form) {
        var input = form.querySelector("input[type=hidden][name='" + key + "']");
        if (!value) {
          if (input) input.remove();
          return;
        }
        if (!input) {
          input = document.createElement("input");
          input.type = "hidden";
          input.name = key;
          form.appendChild(input);
        }
        input.value = value;
      });
    });
  });

  // A swapped region comes back with its <details> closed: reopen those that were open.
  var openDetails = [];
  document.addEventListener("htmx:beforeSwap", function (event) {
    openDetails = Array.prototype.map.call(event.detail.target.querySelectorAll("details[open][id]"), function (d) { return d.id; });
  });
  document.addEventListener("htmx:afterSettle", function () {
    openDetails.forEach(function (id) {
      var details = document.getElementById(id);
      if (details) details.open = true;
    });
    openDetails = [];
  });
})();
