"""People in the control store, on SQLite and PostgreSQL: one user per person however many first
sign-ins race, invitations used once, roles that keep an owner, links used once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from llmobserve.control import ControlStore, SignIn, SignInRefused
from llmobserve.control._people_schema import IDENTITIES, MEMBERSHIPS, USERS
from llmobserve.control._schema import WORKSPACES

ISSUER = "https://accounts.example.com"
ACTOR = ("cli", "operator")


def _count(store: ControlStore, table: object) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]  # a Table


def _race(n: int, work: object) -> tuple[list[object], list[BaseException]]:
    results: list[object] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(n)

    def one(i: int) -> None:
        barrier.wait()
        try:
            results.append(work(i))  # type: ignore[operator]  # a callable
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


def test_twenty_concurrent_first_sign_ins_make_one_user_and_one_workspace(stores: list[ControlStore]) -> None:
    workspaces_before = _count(stores[0], WORKSPACES)

    def sign_in(i: int) -> SignIn:
        return stores[i % 2].people.sign_in_oidc(ISSUER, "sub-42", "google", "ada@example.com", "Ada", "open")

    results, errors = _race(20, sign_in)
    assert errors == []
    users = {r.user_id for r in results}  # type: ignore[attr-defined]
    assert len(users) == 1 and sum(r.created for r in results) == 1  # type: ignore[attr-defined]
    assert _count(stores[0], USERS) == 1 and _count(stores[0], IDENTITIES) == 1
    assert _count(stores[0], WORKSPACES) == workspaces_before + 1
    (user_id,) = users
    assert [role for _, _, role in stores[1].people.workspaces_of(user_id)] == ["owner"]


def test_sign_up_policy_invite_and_off_refuse_strangers_and_create_nothing(stores: list[ControlStore]) -> None:
    people = stores[0].people
    for policy in ("invite", "off"):
        with pytest.raises(SignInRefused):
            people.sign_in_oidc(ISSUER, f"stranger-{policy}", "google", "x@example.com", "X", policy)
    assert _count(stores[0], USERS) == 0 and _count(stores[0], WORKSPACES) == 0


def test_an_invitation_is_used_once_and_refused_when_expired_or_revoked(stores: list[ControlStore]) -> None:
    people = stores[0].people
    _, token = people.invite("acme", "bo@example.com", "member", ACTOR)
    joined = people.sign_in_oidc(ISSUER, "bo", "okta", "bo@example.com", "Bo", "invite", invitation=token)
    assert joined.workspace == "acme" and people.role("acme", joined.user_id) == "member"
    with pytest.raises(SignInRefused, match="already used"):
        people.sign_in_oidc(ISSUER, "cy", "okta", "cy@example.com", "Cy", "invite", invitation=token)

    _, expired = people.invite("acme", "dee@example.com", "viewer", ACTOR, ttl=timedelta(seconds=-1))
    with pytest.raises(SignInRefused, match="expired"):
        people.sign_in_oidc(ISSUER, "dee", "okta", "dee@example.com", "Dee", "invite", invitation=expired)

    invitation, revoked = people.invite("acme", "eve@example.com", "admin", ACTOR)
    assert stores[1].people.revoke_invitation("acme", invitation.id, ACTOR)
    with pytest.raises(SignInRefused, match="withdrawn"):
        people.sign_in_oidc(ISSUER, "eve", "okta", "eve@example.com", "Eve", "invite", invitation=revoked)
    with pytest.raises(SignInRefused, match="not valid"):
        people.sign_in_oidc(ISSUER, "fay", "okta", None, "Fay", "invite", invitation="forged")
    assert _count(stores[0], USERS) == 1  # only Bo
    assert {e.action for e in people.audit_entries("acme")} == {
        "invitation.create",
        "invitation.revoke",
        "member.join",
    }


def test_twenty_racing_acceptances_of_one_invitation_admit_one(stores: list[ControlStore]) -> None:
    _, token = stores[0].people.invite("acme", "one@example.com", "member", ACTOR)

    def accept(i: int) -> SignIn:
        return stores[i % 2].people.sign_in_oidc(ISSUER, f"racer-{i}", "okta", None, f"R{i}", "off", invitation=token)

    results, errors = _race(20, accept)
    assert len(results) == 1 and len(errors) == 19
    assert all(isinstance(e, SignInRefused) for e in errors), errors[:1]
    assert _count(stores[0], USERS) == 1 and _count(stores[0], MEMBERSHIPS) == 1


def test_roles_change_and_the_last_owner_stays(stores: list[ControlStore]) -> None:
    people = stores[0].people
    owner = people.sign_in_oidc(ISSUER, "own", "google", None, "Owner", "open")
    assert owner.workspace is not None
    workspace = owner.workspace
    _, token = people.invite(workspace, "m@example.com", "viewer", ACTOR)
    member = people.sign_in_oidc(ISSUER, "mem", "google", None, "Mem", "invite", invitation=token)
    with pytest.raises(ValueError, match="last owner"):
        people.set_role(workspace, owner.user_id, "admin", ACTOR)
    people.set_role(workspace, member.user_id, "owner", ACTOR)
    people.set_role(workspace, owner.user_id, "viewer", ACTOR)  # another owner exists now
    assert stores[1].people.role(workspace, owner.user_id) == "viewer"
    people.remove_member(workspace, owner.user_id, ACTOR)
    assert stores[1].people.role(workspace, owner.user_id) is None
    with pytest.raises(ValueError, match="last owner"):
        people.remove_member(workspace, member.user_id, ACTOR)


def test_a_link_is_used_once_even_by_racing_clicks(stores: list[ControlStore]) -> None:
    token = stores[0].people.create_link("reset", timedelta(hours=1), email="ada@example.com")
    results, _ = _race(10, lambda i: stores[i % 2].people.use_link(token, "reset"))
    assert sum(1 for link, _ in results if link is not None) == 1  # type: ignore[misc]
    assert stores[0].people.use_link(token, "reset") == (None, "used")
    stale = stores[0].people.create_link("verify", timedelta(seconds=-1), email="x@example.com")
    assert stores[0].people.use_link(stale, "verify") == (None, "expired")
    assert stores[0].people.use_link(token, "verify") == (None, "unknown")  # another purpose's token


def test_local_accounts_are_keyed_by_their_verified_address(stores: list[ControlStore]) -> None:
    def sign_up(i: int) -> SignIn:
        return stores[i % 2].people.sign_up_local("Ada@Example.com", "hash", "Ada", "open")

    results, errors = _race(20, sign_up)
    assert errors == [] and len({r.user_id for r in results}) == 1  # type: ignore[attr-defined]
    found = stores[1].people.local_account("ada@example.com")
    assert found is not None and found[0].login_email == "ada@example.com" and found[1] == "hash"
