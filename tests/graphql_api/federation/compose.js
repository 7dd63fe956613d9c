// Composes the identity-store subgraph with a tiny second subgraph that extends User by its key,
// as a router's supergraph build would (Apollo's @apollo/composition library).
//
// usage: node compose.js SUBGRAPH_SDL_FILE   (NODE_PATH names the folder @apollo/composition is in)
// Prints {"errors": [...], "hints": [...], "supergraphSdl": "..."} as JSON on stdout.
"use strict";

const fs = require("fs");
const { composeServices } = require("@apollo/composition");
const { parse } = require("graphql");

// A service of its own that joins users into its types by userName and adds a field to User.
const BADGES = `
extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])

type User @key(fields: "userName") {
  userName: String!
  badges: [Badge!]!
}

type Badge {
  name: String!
  holder: User!
}

type Query {
  badges: [Badge!]!
}
`;

const identity = fs.readFileSync(process.argv[2], "utf8");
const result = composeServices([
  { name: "identity", url: "http://identity.internal/graphql", typeDefs: parse(identity) },
  { name: "badges", url: "http://badges.internal/graphql", typeDefs: parse(BADGES) },
]);
process.stdout.write(
  JSON.stringify({
    errors: (result.errors || []).map((e) => e.message),
    hints: (result.hints || []).map((h) => h.toString()),
    supergraphSdl: result.supergraphSdl || null,
  }),
);
