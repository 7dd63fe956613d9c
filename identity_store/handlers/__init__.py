"""One handler per command: load, decide, write conditionally, and say what happened as events.

A handler does all of it inside one transaction (:meth:`UnitOfWork.run`): it reads the
aggregate and every other fact it decides on (that a member or manager exists, who masters the
object) through the transaction, writes conditionally on the version it read, and records its
events. When the command names no ``expected_version`` and the aggregate changed under it, the
store runs the work again on the newer state within the write's deadline, so concurrent writers
never lose each other's changes and never see a conflict they did not ask for; with
``expected_version`` the stale writer gets :class:`VersionConflict`. A command that changes
nothing writes nothing and emits no event.

Handlers are split by aggregate: :mod:`users`, :mod:`groups`, the tenant's own :mod:`tenants`,
its :mod:`credentials` (with its OAuth clients), its :mod:`webhooks` subscriptions, its
:mod:`schema_extensions` and its Shared Signals :mod:`ssf_streams`; :mod:`common` holds the unit
of work and what they share; :mod:`restores` and :mod:`purges` serve soft deletion;
:mod:`fan_outs` runs what a deletion or a replacement of all members implies beyond its
aggregate, in bounded, resumable batches.
"""

from __future__ import annotations

from identity_store.handlers.common import UnitOfWork
from identity_store.handlers.credentials import (
    create_oauth_client,
    disable_oauth_client,
    federate_oauth_client,
    issue_credential,
    revoke_credential,
)
from identity_store.handlers.groups import (
    add_members,
    create_group,
    delete_group,
    patch_group,
    remove_members,
    rename_group,
    replace_group,
    replace_members,
)
from identity_store.handlers.purges import Purged, purge_deleted
from identity_store.handlers.restores import restore_group, restore_user, restore_users
from identity_store.handlers.schema_extensions import add_schema_extension, remove_schema_extension
from identity_store.handlers.ssf_streams import (
    add_ssf_subject,
    create_ssf_stream,
    delete_ssf_stream,
    remove_ssf_subject,
    set_ssf_stream_status,
    update_ssf_stream,
)
from identity_store.handlers.tenants import change_tenant_settings, create_tenant
from identity_store.handlers.users import (
    create_user,
    deactivate_user,
    delete_user,
    patch_user,
    reactivate_user,
    replace_user,
)
from identity_store.handlers.webhooks import create_webhook_subscription, disable_webhook_subscription

__all__ = [
    "Purged",
    "UnitOfWork",
    "add_members",
    "add_schema_extension",
    "add_ssf_subject",
    "change_tenant_settings",
    "create_group",
    "create_oauth_client",
    "create_ssf_stream",
    "create_tenant",
    "create_user",
    "create_webhook_subscription",
    "deactivate_user",
    "delete_group",
    "delete_ssf_stream",
    "delete_user",
    "disable_oauth_client",
    "disable_webhook_subscription",
    "federate_oauth_client",
    "issue_credential",
    "patch_group",
    "patch_user",
    "purge_deleted",
    "reactivate_user",
    "remove_members",
    "remove_schema_extension",
    "remove_ssf_subject",
    "rename_group",
    "replace_group",
    "replace_members",
    "replace_user",
    "restore_group",
    "restore_user",
    "restore_users",
    "revoke_credential",
    "set_ssf_stream_status",
    "update_ssf_stream",
]
