"""``llmobserve users invite|list|remove``: people for every workspace, from the operator's shell
(an upgraded store's workspaces get their people this way)."""

from __future__ import annotations

import sys

from llmobserve.control import ROLES, ControlStore, InvalidTenantError, validate_tenant

__all__ = ["users_invite_cli", "users_list_cli", "users_remove_cli"]

_CLI = ("cli", "operator (llmobserve users)")


def users_invite_cli(url: str, public_url: str, workspace: str, email: str, role: str) -> int:
    if role not in ROLES:
        print(f"error: --role must be one of {', '.join(ROLES)}", file=sys.stderr)
        return 2
    if "@" not in email.strip("@"):
        print(f"error: --email {email!r} is not an e-mail address", file=sys.stderr)
        return 2
    try:
        validate_tenant(workspace)
    except InvalidTenantError as exc:
        print(f"error: --workspace: {exc}", file=sys.stderr)
        return 2
    store = ControlStore.open(url)
    try:
        invitation, token = store.people.invite(workspace, email, role, _CLI)
    finally:
        store.close()
    print(
        f"invited {invitation.email} to {workspace} as {role}, valid until {invitation.expires_at:%Y-%m-%d %H:%M} UTC"
    )
    print("send them this link (shown once):")
    print(f"{public_url.rstrip('/')}/invite/{token}")
    return 0


def users_list_cli(url: str, workspace: str | None) -> int:
    store = ControlStore.open(url)
    try:
        members = store.people.members(workspace) if workspace else store.people.all_members()
    finally:
        store.close()
    if not members:
        print("nobody yet" + (f" in {workspace}" if workspace else ""))
        return 0
    for m in members:
        print(f"{m.workspace}\t{m.role}\t{m.user_id}\t{m.email or '-'}\t{m.name}")
    return 0


def users_remove_cli(url: str, workspace: str, who: str) -> int:
    """``who``: a user id or an e-mail address of a member."""
    store = ControlStore.open(url)
    try:
        found = [m for m in store.people.members(workspace) if who in (m.user_id, (m.email or "").lower())]
        if not found:
            print(f"error: no member {who!r} in {workspace}", file=sys.stderr)
            return 1
        try:
            store.people.remove_member(workspace, found[0].user_id, _CLI)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    finally:
        store.close()
    print(f"removed {who} from {workspace}; their sessions there ended")
    return 0
