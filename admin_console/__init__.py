"""The admin console: server-rendered pages at ``/admin`` for a tenant's admins.

A tenant admin signs in with a console admin credential (issued by ``identity-store admin
create``) and sees only its own tenant: provisioning health, the activity of its SCIM and
GraphQL clients, its users and groups with their history, and its credentials, which it may
issue and revoke through the same commands as the command line. It reads through
:mod:`identity_store`'s read models and changes through its command bus; it imports no other
front end (README "Admin console").
"""

from __future__ import annotations

from admin_console.admins import CONSOLE_SCOPE
from admin_console.app import admin_console, random_session_key
from admin_console.settings import ConsoleSettings

__all__ = ["CONSOLE_SCOPE", "ConsoleSettings", "admin_console", "random_session_key"]
