"""Every write to organizations, memberships and invitations, and the rules they keep (see each module).

Authorization split: the DRF permission class (``permissions.py``) checks the
permission an endpoint needs (``change_members`` to PATCH a member, ...);
these services keep the rules that depend on the target's state: an
organization always keeps an owner, only an owner makes, changes or removes
owners (``manage_owners``), only an owner changes billing, extras cannot exceed
what the granter holds, invitations are single-use, unexpired and bound to an
email. Each service is one transaction and writes its audit row and outbox
event inside it. The names other modules use are re-exported here.
"""

from apps.organizations.services.grants import role_groups_ensure, role_permissions_sync
from apps.organizations.services.invitations import (
    hash_token,
    invitation_accept,
    invitation_create,
    invitation_resend,
    invitation_revoke,
    invitation_send,
)
from apps.organizations.services.memberships import (
    membership_create,
    membership_leave,
    membership_remove,
    membership_update,
)
from apps.organizations.services.organizations import (
    ORGANIZATION_EDITABLE_FIELDS,
    organization_create,
    organization_delete,
    organization_restore,
    organization_update,
)

__all__ = [
    "ORGANIZATION_EDITABLE_FIELDS",
    "hash_token",
    "invitation_accept",
    "invitation_create",
    "invitation_resend",
    "invitation_revoke",
    "invitation_send",
    "membership_create",
    "membership_leave",
    "membership_remove",
    "membership_update",
    "organization_create",
    "organization_delete",
    "organization_restore",
    "organization_update",
    "role_groups_ensure",
    "role_permissions_sync",
]
