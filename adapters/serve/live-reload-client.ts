// The live-reload client, sent as it is written here: plain ES2017 for any current browser, no
// dependencies, no build step. Its settings come from its own <script> element's data- attributes.

/**
 * The browser side of live reload. It opens an EventSource on `data-events`, and on each `change`:
 * swaps every `<link rel="stylesheet">` whose stylesheet changed to the URL the server sent (the one
 * the next render emits: the next navigation is a cache hit), inserting the new link and removing
 * the old one on `load` (no flash of unstyled content). A change that comes while an earlier swap of
 * the same link is still loading wins: the pending link is dropped, and only the link in place is
 * swapped (swapping a pending one too left two links behind). It reloads the page when anything else it uses
 * changed (a script, an image in the page, a module) or when anything may have changed. A server
 * restart (another `boot` in the `hello` event) or a generation missed while disconnected reloads
 * the page once.
 */
export const LIVE_RELOAD_CLIENT = String.raw`/* static-hash live reload */
(function () {
  'use strict';
  var me = document.currentScript;
  if (!me || window.__staticHashLiveReload) return;
  var data = me.dataset;
  var style = data.style, param = data.param || '', hashLength = Number(data.hashLength) || 0;
  var hashInName = new RegExp('\\.[0-9a-f]{' + hashLength + '}(?=\\.[^./]*$|$)');
  var state = window.__staticHashLiveReload = { boot: undefined, generation: undefined, swaps: 0, reloading: false, source: undefined };

  // A URL without its version, to compare what the page loaded with what changed: origin and path
  // (the query, where the version is, is left out; a hashed file name loses its hash).
  function key(href) {
    var url;
    try { url = new URL(href, location.href); } catch (e) { return ''; }
    var path = url.pathname;
    if (style === 'filename') {
      var slash = path.lastIndexOf('/');
      path = path.slice(0, slash + 1) + path.slice(slash + 1).replace(hashInName, '');
    }
    return url.origin + path;
  }

  function reload() {
    if (state.reloading) return;
    state.reloading = true;
    location.reload();
  }

  // Everything the page uses other than through a stylesheet (which a swap refreshes).
  function used() {
    var keys = new Set();
    var entries = performance.getEntriesByType ? performance.getEntriesByType('resource') : [];
    for (var i = 0; i < entries.length; i++) if (entries[i].initiatorType !== 'css') keys.add(key(entries[i].name));
    var nodes = document.querySelectorAll('[src],link[href]');
    for (var j = 0; j < nodes.length; j++) keys.add(key(nodes[j].src || nodes[j].href));
    return keys;
  }

  function swap(link, href) {
    var pending = link.__shNext;
    if (pending) {
      if (pending.getAttribute('href') === href) return;
      pending.remove();
    }
    var next = link.cloneNode(false);
    next.__shPending = true;
    next.href = href;
    link.__shNext = next;
    next.addEventListener('load', function () { if (link.__shNext !== next) return; next.__shPending = false; link.remove(); state.swaps++; }, { once: true });
    next.addEventListener('error', function () { if (link.__shNext === next) next.remove(), reload(); }, { once: true });
    link.after(next);
  }

  function onChange(change) {
    state.generation = change.generation;
    if (!change.references) return reload();
    var sheets = new Map(), others = [];
    change.references.forEach(function (entry) {
      if (entry.stylesheet && entry.url) sheets.set(key(entry.unversioned), entry.url);
      else others.push(key(entry.unversioned));
    });
    var links = document.querySelectorAll('link[rel~="stylesheet"][href]');
    var swapped = new Set();
    for (var i = 0; i < links.length; i++) {
      if (links[i].__shPending) continue;
      var href = sheets.get(key(links[i].href));
      if (href === undefined) continue;
      swapped.add(key(links[i].href));
      if (links[i].getAttribute('href') !== href) swap(links[i], href);
    }
    var page = used();
    for (var j = 0; j < others.length; j++) if (page.has(others[j])) return reload();
    sheets.forEach(function (_url, sheet) { if (!swapped.has(sheet) && page.has(sheet)) reload(); });
  }

  function connect() {
    var source = state.source = new EventSource(data.events);
    source.addEventListener('hello', function (event) {
      var hello = JSON.parse(event.data);
      if (state.boot !== undefined && (hello.boot !== state.boot || hello.generation !== state.generation)) return reload();
      state.boot = hello.boot;
      state.generation = hello.generation;
    });
    source.addEventListener('change', function (event) { onChange(JSON.parse(event.data)); });
    source.addEventListener('error', function () {
      // EventSource retries a dropped connection by itself, but gives up on an answer that is not a
      // stream (the server restarting behind a proxy, live reload turned off): try again later.
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 1000);
    });
  }
  connect();
})();
`;
