"""The signed-in admin a page acts as: its session, and the tenant and context fixed to it.

Everything a page reads or changes goes through ``signed_in.tenant`` and ``signed_in.context``,
both fixed to the session's tenant, so a page cannot reach another tenant's data even by naming
its ids. :func:`admin_console.access.admin_page` makes one for every page but signing in.
"""

from __future__ import annotations

from dataclasses import dataclass

from admin_console.console import Console
from admin_console.sessions import Session
from identity_store import Actor, RequestContext, TenantStore

__all__ = ["SignedIn"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedIn:
    session: Session
    console: Console

    @property
    def csrf(self) -> str:
        return self.console.cookies.csrf_token(self.session)

    @property
    def tenant(self) -> TenantStore:
        return self.console.store().tenant(self.session.tenant_id)

    @property
    def context(self) -> RequestContext:
        """The context of a change made from the console: the admin's tenant, the admin as actor."""
        actor = Actor(credential_id=self.session.credential_id, kind="console")
        return RequestContext(tenant_id=self.session.tenant_id, actor=actor)
