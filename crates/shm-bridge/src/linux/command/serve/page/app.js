// The dashboard: one WebSocket of samples (the documents of /api/telemetry),
// drawn once per display frame, the DOM touched only where a value changed.
// Reconnects by itself, ever more slowly up to every 5 s.
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var params = new URLSearchParams(location.search);
  var url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/api/ws' +
    (params.has('token') ? '?token=' + encodeURIComponent(params.get('token')) : '');
  var DASH = '\u2014';
  var shown = {};
  var latest = null, drawing = false, retry = 500, connected = false;
  var fuel = { lap: null, atLapStart: null, perLap: [] };

  function text(id, value) {
    if (shown[id] !== value) { shown[id] = value; $(id).textContent = value; }
  }
  function style(el, key, prop, value) {
    if (shown[key] !== value) { shown[key] = value; el.style[prop] = value; }
  }
  function cls(el, key, value) {
    if (shown[key] !== value) { shown[key] = value; el.className = value; }
  }
  function num(v, digits) { return v === null || v === undefined ? DASH : v.toFixed(digits); }
  function pct(v) { return v === null || v === undefined ? '0%' : Math.max(0, Math.min(1, v)) * 100 + '%'; }
  function gear(g) { return g === null || g === undefined ? DASH : g < 0 ? 'R' : g === 0 ? 'N' : String(g); }
  function lapTime(ms) {
    if (ms === null || ms === undefined || ms < 0) return '-:--.---';
    var m = Math.floor(ms / 60000), s = Math.floor(ms / 1000) % 60, r = ms % 1000;
    return m + ':' + (s < 10 ? '0' : '') + s + '.' + ('00' + r).slice(-3);
  }
  function clock(seconds) {
    if (seconds === null || seconds === undefined || seconds < 0) return DASH;
    var t = Math.floor(seconds), h = Math.floor(t / 3600), m = Math.floor(t / 60) % 60, s = t % 60;
    return (h ? h + ':' + (m < 10 ? '0' : '') : '') + m + ':' + (s < 10 ? '0' : '') + s;
  }

  // Litres a lap, measured over the last laps driven (a refill starts over).
  function fuelLaps(t) {
    if (t.fuel_l === null || t.lap === null) return null;
    if (fuel.atLapStart !== null && t.fuel_l > fuel.atLapStart + 0.5) { fuel.perLap = []; fuel.atLapStart = t.fuel_l; }
    if (fuel.lap === null || t.lap < fuel.lap) { fuel.lap = t.lap; fuel.atLapStart = t.fuel_l; }
    if (t.lap > fuel.lap) {
      var used = fuel.atLapStart - t.fuel_l;
      if (used > 0 && t.lap === fuel.lap + 1) { fuel.perLap.push(used); if (fuel.perLap.length > 5) fuel.perLap.shift(); }
      fuel.lap = t.lap; fuel.atLapStart = t.fuel_l;
    }
    if (!fuel.perLap.length) return null;
    var avg = fuel.perLap.reduce(function (a, b) { return a + b; }, 0) / fuel.perLap.length;
    return t.fuel_l / avg;
  }

  function drawRevs(t) {
    var frac = t.rpm !== null && t.max_rpm ? t.rpm / t.max_rpm : 0;
    text('rpm', t.rpm === null ? DASH : String(t.rpm));
    style($('rpmfill'), 'rpmfill', 'width', pct(frac));
    var lights = $('lights').children;
    var shift = frac >= 0.97;
    cls($('lights'), 'lights', shift ? 'shift' : '');
    for (var i = 0; i < lights.length; i++) {
      var colour = i < 4 ? 'g' : i < 7 ? 'a' : 'r';
      cls(lights[i], 'light' + i, frac >= 0.80 + i * 0.017 ? 'on ' + colour : '');
    }
  }

  function drawTyres(t) {
    for (var i = 0; i < 4; i++) {
      var el = $('tyre' + i);
      var temp = t.tyre_temps_c ? t.tyre_temps_c[i] : null;
      var kpa = t.tyre_pressures_kpa ? t.tyre_pressures_kpa[i] : null;
      var tText = temp === null ? DASH : Math.round(temp) + '\u00b0C';
      var pText = kpa === null ? DASH : (kpa / 6.894757).toFixed(1) + ' psi';
      if (shown['tt' + i] !== tText) { shown['tt' + i] = tText; el.children[0].textContent = tText; }
      if (shown['tp' + i] !== pText) { shown['tp' + i] = pText; el.children[1].textContent = pText; }
      cls(el, 'tc' + i, 'tyre' + (temp === null ? '' : temp < 65 ? ' cold' : temp > 105 ? ' hot' : ' ok'));
    }
  }

  function drawFlags(t) {
    var flags = (t.flags || []).join(' ');
    if (shown.flags === flags) return;
    shown.flags = flags;
    var box = $('flags');
    box.textContent = '';
    (t.flags || []).forEach(function (f) {
      var b = document.createElement('span');
      b.className = 'badge flag-' + f;
      b.textContent = f;
      box.appendChild(b);
    });
  }

  function draw() {
    drawing = false;
    var doc = latest;
    if (!doc) return;
    var t = doc.telemetry;
    document.body.className = connected ? '' : 'stale';
    if (!t || t.status === 'menu') {
      // No pages (no bridge, no game), or pages of a game in its menus (or
      // not started yet: the bridge's pages are all zero until it writes).
      $('idle').hidden = false;
      var game = doc.game || 'the game';
      if (!t) {
        var missing = doc.missing && doc.missing.length ? 'Waiting for ' + doc.missing.join(', ') + '. ' : '';
        var errors = doc.errors && doc.errors.length ? doc.errors.join(' ') + ' ' : '';
        text('idletitle', 'No game running');
        text('idletext', missing + errors + 'Start ' + game +
          ' with shm-bridge launch; this page follows it by itself.');
      } else {
        text('idletitle', 'No session running');
        text('idletext', game + ' is in its menus, or has not started writing yet.');
      }
      text('title', doc.game || 'shm-bridge');
      text('where', '');
      text('status', '');
      return;
    }
    $('idle').hidden = true;
    text('title', t.title || doc.game || '');
    text('where', [t.car, t.track].filter(Boolean).join(' \u00b7 '));
    text('status', t.status && t.status !== 'live' ? t.status : '');
    text('gear', gear(t.gear));
    text('speed', t.speed_kmh === null ? DASH : String(Math.round(t.speed_kmh)));
    drawRevs(t);
    style($('throttle'), 'thr', 'height', pct(t.throttle));
    style($('brake'), 'brk', 'height', pct(t.brake));
    style($('clutch'), 'clu', 'height', pct(t.clutch));
    text('position', t.position === null ? DASH : 'P' + t.position + (t.cars ? ' / ' + t.cars : ''));
    text('lap', t.lap === null ? DASH : String(t.lap));
    text('laptime', lapTime(t.lap_time_ms));
    text('lastlap', lapTime(t.last_lap_ms));
    text('bestlap', lapTime(t.best_lap_ms));
    var s = t.session || {};
    text('sessionkind', s.kind || 'session');
    text('session', s.laps_left !== null && s.laps_left !== undefined ? s.laps_left + ' laps left'
      : s.time_left_s !== null && s.time_left_s !== undefined ? clock(s.time_left_s) + ' left' : DASH);
    text('fuel', t.fuel_l === null ? DASH : num(t.fuel_l, 1) + ' L');
    var laps = fuelLaps(t);
    text('fuellaps', laps === null ? DASH : laps.toFixed(1));
    style($('tankfill'), 'tank', 'width', t.fuel_capacity_l ? pct(t.fuel_l / t.fuel_capacity_l) : '0%');
    drawTyres(t);
    drawFlags(t);
  }

  function connect() {
    var ws = new WebSocket(url);
    ws.onopen = function () { retry = 500; connected = true; $('conn').className = 'dot live'; };
    ws.onmessage = function (e) {
      try { latest = JSON.parse(e.data); } catch (err) { return; }
      if (!drawing) { drawing = true; requestAnimationFrame(draw); }
    };
    ws.onclose = function () {
      connected = false;
      $('conn').className = 'dot';
      document.body.className = 'stale';
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 5000);
    };
  }
  connect();
}());
