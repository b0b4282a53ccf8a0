/**
 * The dashboard's only script, served as a same-origin file (`GET /dashboard/assets/live-<hash>.js`,
 * allowed by `script-src 'self'`; no inline script, no eval, no library). It keeps the changing
 * parts of a page current without a reload: it listens to the page's server-sent events
 * (`data-stream` on `<body>`), and polls the page's JSON snapshot (`data-live`) instead when
 * there is no stream, the stream is refused or ends, or the server says its notifier is down,
 * trying the stream again every 30 s. Each snapshot carries server-rendered fragments: the
 * element with the same id is replaced, so the markup (escaped on the server) has one source
 * and the page without JavaScript is the same page. Paused while the tab is hidden.
 *
 * Plain ES2017 in a string, like the stylesheet: the edge bundles have no file system to read
 * a .js file from. The file name carries a hash of the source, so it may be cached for good.
 * @module
 */

/** The script's source. */
export const LIVE_SCRIPT = `'use strict';
(function () {
  var body = document.body;
  var pollUrl = body.getAttribute('data-live');
  if (!pollUrl || !window.fetch) return;
  var streamUrl = window.EventSource ? body.getAttribute('data-stream') : null;
  var mode = document.getElementById('live-mode');
  var at = document.getElementById('live-at');
  var shown = {};
  var source = null;
  var timer = 0;
  var busy = true;
  var streamErrors = 0;
  var streamAgainAt = 0;
  var ended = false;

  function say(text, state) {
    if (!mode) return;
    if (mode.textContent !== text) mode.textContent = text;
    mode.setAttribute('data-state', state);
  }

  // Replaces each fragment whose markup changed; the new element must carry the same id.
  function apply(snapshot) {
    busy = snapshot.busy === true;
    var fragments = snapshot.fragments || {};
    Object.keys(fragments).forEach(function (id) {
      var markup = fragments[id];
      var current = document.getElementById(id);
      if (shown[id] === markup || !current) return;
      var template = document.createElement('template');
      template.innerHTML = markup;
      var next = template.content.firstElementChild;
      if (!next || next.id !== id) return;
      current.replaceWith(next);
      shown[id] = markup;
    });
    if (at && typeof snapshot.at === 'string') {
      at.textContent = snapshot.at.slice(11, 19);
      at.setAttribute('datetime', snapshot.at);
    }
  }

  function stop() {
    clearTimeout(timer);
    timer = 0;
    if (source) source.close();
    source = null;
  }

  function later(ms) {
    clearTimeout(timer);
    timer = setTimeout(next, ms);
  }

  function next() {
    if (streamUrl && Date.now() >= streamAgainAt) listen();
    else poll();
  }

  function fallBack() {
    stop();
    streamAgainAt = Date.now() + 30000;
    poll();
  }

  function listen() {
    stop();
    streamErrors = 0;
    var stream = new EventSource(streamUrl);
    source = stream;
    stream.addEventListener('snapshot', function (event) {
      streamErrors = 0;
      say('Live', 'live');
      apply(JSON.parse(event.data));
    });
    // The server's notifier lost its connection: changes could be missed, so poll meanwhile.
    stream.addEventListener('down', fallBack);
    stream.onerror = function () {
      if (source !== stream) return;
      // CLOSED: refused (no stream here, too many, logged out); otherwise the browser retries.
      if (stream.readyState === 2 || ++streamErrors > 2) fallBack();
      else say('Reconnecting', 'wait');
    };
  }

  function poll() {
    var headers = { Accept: 'application/json' };
    fetch(pollUrl, { credentials: 'same-origin', cache: 'no-store', headers: headers })
      .then(function (response) {
        var type = response.headers.get('Content-Type') || '';
        if (response.ok && type.indexOf('application/json') === 0) return response.json();
        // Sent to the login form: the session ended.
        throw response.redirected ? 'session' : response.status;
      })
      .then(
        function (snapshot) {
          apply(snapshot);
          var seconds = busy ? 5 : 15;
          say('Updating every ' + seconds + ' s', 'poll');
          later(seconds * 1000);
        },
        function (problem) {
          if (problem === 'session') {
            ended = true;
            stop();
            say('Session ended: reload to log in', 'off');
            return;
          }
          say(problem === 503 ? 'Database unavailable, retrying' : 'Offline, retrying', 'wait');
          later(10000);
        },
      );
  }

  document.addEventListener('visibilitychange', function () {
    if (ended) return;
    if (document.hidden) {
      stop();
      say('Paused', 'off');
    } else {
      next();
    }
  });

  if (document.hidden) say('Paused', 'off');
  else next();
})();
`;

/** FNV-1a, 32 bits, base 36: a short name that changes with the source. */
function sourceHash(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(36);
}

/** The script's file name under `<dashboard>/assets/`. */
export const LIVE_SCRIPT_FILE = `live-${sourceHash(LIVE_SCRIPT)}.js`;
