// ispcore GraphiQL bootstrap (kept out of index.html so the page works under
// a strict `script-src 'self'` Content-Security-Policy).
//
// Deliberately NOT done here: reading or writing query / variables / headers
// in the page URL. Headers (which carry the bearer token) must never end up in
// the URL, browser history, logs or Referer headers.
(function () {
  'use strict';

  var loc = window.location;
  var httpUrl = loc.origin + '/graphql';
  // Same origin, graphql-transport-ws protocol (the graphql-ws client is
  // bundled inside graphiql.min.js; a socket is only opened when a
  // subscription operation is run). The headers editor's content is sent as
  // the connection_init payload.
  var wsUrl = (loc.protocol === 'https:' ? 'wss://' : 'ws://') + loc.host + '/graphql';

  var DEFAULT_HEADERS = '{\n  "Authorization": "Bearer "\n}';

  // GraphiQL keeps query history, favourites and tab state in localStorage.
  // `shouldPersistHeaders: false` keeps headers out of the tab state, but the
  // history/favourites store saves each run's headers regardless. This wrapper
  // drops every "headers" field (and any legacy "graphiql:headers" key) before
  // anything reaches localStorage, so the token is never persisted. Within the
  // current page session GraphiQL's in-memory history still has the headers.
  function stripHeaders(key, value) {
    if (key === 'graphiql:headers') return null;
    if (typeof value !== 'string' || value.charAt(0) !== '{') return value;
    try {
      return JSON.stringify(
        JSON.parse(value, function (k, v) {
          return k === 'headers' ? undefined : v;
        }),
      );
    } catch (e) {
      return value; // not JSON (e.g. the query text): keep as is
    }
  }

  function makeStorage() {
    var backend;
    try {
      backend = window.localStorage;
      backend.getItem('graphiql:probe');
    } catch (e) {
      backend = null; // storage disabled: fall back to memory only
    }
    var mem = {};
    function keys() {
      var out = [];
      if (backend) {
        for (var i = 0; i < backend.length; i++) {
          var k = backend.key(i);
          if (k && k.indexOf('graphiql:') === 0) out.push(k);
        }
      } else {
        out = Object.keys(mem);
      }
      return out;
    }
    return {
      getItem: function (key) {
        var v = backend ? backend.getItem(key) : mem.hasOwnProperty(key) ? mem[key] : null;
        return v === null ? null : stripHeaders(key, v);
      },
      setItem: function (key, value) {
        var v = stripHeaders(key, String(value));
        if (v === null) return this.removeItem(key);
        if (backend) backend.setItem(key, v);
        else mem[key] = v;
      },
      removeItem: function (key) {
        if (backend) backend.removeItem(key);
        else delete mem[key];
      },
      clear: function () {
        var ks = keys();
        for (var i = 0; i < ks.length; i++) this.removeItem(ks[i]);
      },
      get length() {
        return keys().length;
      },
    };
  }

  var fetcher = GraphiQL.createFetcher({
    url: httpUrl,
    subscriptionUrl: wsUrl,
  });

  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      storage: makeStorage(),
      defaultQuery: '{\n  me {\n    email\n  }\n}\n',
      defaultHeaders: DEFAULT_HEADERS,
      isHeadersEditorEnabled: true,
      // Open the editor-tools pane on the "Headers" tab so users see where to
      // paste the token.
      defaultEditorToolsVisibility: 'headers',
      // Never persist headers (the token) to localStorage, and don't offer the
      // toggle for it in the settings dialog.
      shouldPersistHeaders: false,
      showPersistHeadersSettings: false,
    }),
  );
})();
