"""The operation cost limit's default, apart from the cost rules (:mod:`graphql_api.cost`) so
that the settings can name it without importing graphql-core and strawberry."""

from __future__ import annotations

__all__ = ["DEFAULT_MAX_NODES"]

#: The default limit. It lets a query read two full levels of pages (100 users with 100 groups
#: each: 10,201 nodes, page infos included) or three levels of smaller ones (100 users, 20 groups
#: each, 10 members each: 22,100), and refuses three levels of full pages. 100 users x 20 groups x
#: 100 members (202,100 nodes by this rule) took 11 s before the database gave up; at that rate
#: the limit bounds one query to about a second and a half of database work.
DEFAULT_MAX_NODES = 25_000
