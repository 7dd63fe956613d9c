"""The GraphQL API for internal services over the identity domain."""
