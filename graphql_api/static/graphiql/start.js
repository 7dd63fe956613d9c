// Starts GraphiQL on the page at /graphql. It lives in a file of its own, not in the page,
// so that the page's Content-Security-Policy can allow scripts from 'self' only.
(function () {
  "use strict";

  var url = window.location.href.split(/[?#]/)[0];
  var subscriptionUrl = new URL(url);
  subscriptionUrl.protocol = subscriptionUrl.protocol === "https:" ? "wss:" : "ws:";

  // The headers of the Headers tab go with every HTTP request and, for subscriptions, in the
  // connection_init payload of graphql-transport-ws: the API key authenticates both.
  var fetcher = GraphiQL.createFetcher({ url: url, subscriptionUrl: subscriptionUrl.toString() });

  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: "# Put your API key in the Headers tab below, then run (Ctrl-Enter).\n{\n  viewer {\n    name\n    scopes\n    tenant { name }\n  }\n}\n",
      defaultHeaders: '{\n  "Authorization": "Bearer <api key>"\n}',
      defaultEditorToolsVisibility: "headers",
      isHeadersEditorEnabled: true,
      // An API key is a secret: keep it in the tab, not in the browser's localStorage.
      shouldPersistHeaders: false,
      inputValueDeprecation: true,
    }),
  );
})();
