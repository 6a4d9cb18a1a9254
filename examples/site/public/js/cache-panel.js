// The demo's cache panel: every asset of the page under /static/, and where the browser got it,
// from the Resource Timing API. transferSize 0 with a non-zero decodedBodySize means no byte came
// over the network: the browser cache answered (an immutable URL seen before).
(function () {
  'use strict';
  var list = document.getElementById('cache-list');
  if (!list || !window.performance || !performance.getEntriesByType) return;

  function render() {
    var latest = new Map();
    performance.getEntriesByType('resource').forEach(function (entry) {
      var url = new URL(entry.name);
      if (url.origin !== location.origin || url.pathname.indexOf('/static/') !== 0 || url.pathname.indexOf('/__static-hash/') !== -1) return;
      latest.set(url.pathname + url.search, entry);
    });
    list.textContent = '';
    latest.forEach(function (entry, name) {
      var cached = entry.transferSize === 0 && entry.decodedBodySize > 0;
      var item = document.createElement('li');
      item.className = cached ? 'cached' : 'fetched';
      var label = document.createElement('span');
      label.className = 'where';
      label.textContent = cached ? 'from browser cache' : 'fetched (' + entry.transferSize + ' B)';
      var code = document.createElement('code');
      code.textContent = name;
      item.append(label, ' ', code);
      list.append(item);
    });
  }

  window.addEventListener('load', function () { setTimeout(render, 0); });
  // A stylesheet swapped by live reload (and what it loads) shows up as it arrives.
  if (window.PerformanceObserver) new PerformanceObserver(render).observe({ type: 'resource' });
})();
