"""Who is asking, for every dashboard route: the signed-in person (their session in the signed cookie and in
the accounts store), limited to their own partner, and the CSRF token every POST must carry.

A page of another partner is answered exactly like a page that does not exist (404); a visitor who is not
signed in is sent to the sign-in page, whichever partner the URL names."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Form, HTTPException, Request

from joulo_pipelines.lib import clock
from joulo_pipelines.lib.dashboard import accounts
from joulo_pipelines.lib.dashboard.texts import LANGUAGES
from joulo_pipelines.lib.partners import Partner, PartnerRegistry, load_registry


class SignInRequired(Exception):
    """Answered with a redirect to the sign-in page (routes.py)."""


@dataclass(frozen=True)
class Member:
    user: accounts.User
    partner: Partner
    language: str
    csrf_token: str


def csrf_token(request: Request) -> str:
    """The token of this browser's session, made on first need: forms carry it back in the field `csrf`."""
    if "csrf" not in request.session:
        request.session["csrf"] = secrets.token_urlsafe(32)
    return request.session["csrf"]


def language(request: Request) -> str:
    return request.session.get("language") if request.session.get("language") in LANGUAGES else LANGUAGES[0]


def signed_in(request: Request) -> accounts.User | None:
    session_id = request.session.get("session")
    if not session_id:
        return None
    with accounts.connect(request.app.state.data_dir) as con:
        found = accounts.session(con, session_id, clock.now())
    return found.user if found else None


def member(request: Request, partner_id: str) -> Member:
    """The signed-in person, if `partner_id` is theirs (404 otherwise, as for a partner that does not exist)."""
    user = signed_in(request)
    if user is None:
        raise SignInRequired()
    registry = _registry(request.app.state.data_dir.partners_file)
    if user.partner_id != partner_id or partner_id not in registry.ids:
        raise HTTPException(404, "no such page")
    partner = next(p for p in registry.partners if p.id == partner_id)
    return Member(user, partner, language(request), csrf_token(request))


def _registry(path: Path) -> PartnerRegistry:
    """The partner registry, read again only when the file changed: parsing it took a quarter of a page's time."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return load_registry(path)  # its error says what to do
    return _read_registry(path, (stat.st_ino, stat.st_mtime_ns, stat.st_size))


@lru_cache(maxsize=4)
def _read_registry(path: Path, _identity: tuple) -> PartnerRegistry:
    return load_registry(path)


def admin(member_: Annotated[Member, Depends(member)]) -> Member:
    if member_.user.role != "admin":
        raise HTTPException(404, "no such page")
    return member_


def csrf_checked(request: Request, csrf: Annotated[str, Form()] = "") -> None:
    """Every POST: the form's token must be this session's (a page of another site cannot read it)."""
    expected = request.session.get("csrf")
    if not expected or not secrets.compare_digest(csrf.encode(), expected.encode()):
        raise HTTPException(403, "the form is missing its CSRF token or has an old one: reload the page")


Signed = Annotated[Member, Depends(member)]
Admin = Annotated[Member, Depends(admin)]
CsrfChecked = Depends(csrf_checked)
