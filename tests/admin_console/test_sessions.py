"""The session cookie and the CSRF tokens: what a signed value proves and what it cannot be
turned into."""

from __future__ import annotations

import time

import pytest

from admin_console.sessions import SessionCookies

KEY = b"k" * 32


def _cookie(cookies: SessionCookies) -> str:
    _, value = cookies.new(credential_id="c1", tenant_id="t1", tenant_name="acme", admin_name="alice")
    return value


def test_a_cookie_reads_back_as_its_session() -> None:
    cookies = SessionCookies(KEY, seconds=60)
    session = cookies.read(_cookie(cookies))

    assert session is not None
    assert (session.credential_id, session.tenant_id, session.tenant_name) == ("c1", "t1", "acme")


def test_a_cookie_signed_with_another_key_is_no_session() -> None:
    assert SessionCookies(b"x" * 32, seconds=60).read(_cookie(SessionCookies(KEY, seconds=60))) is None


def test_a_session_past_its_end_is_no_session(monkeypatch: pytest.MonkeyPatch) -> None:
    cookies = SessionCookies(KEY, seconds=60)
    value = _cookie(cookies)
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)

    assert cookies.read(value) is None


@pytest.mark.parametrize("garbage", ["", "v1", "v1..", "v2.e30.x", "v1.!!!.x", "v1.e30"])
def test_garbage_is_no_session(garbage: str) -> None:
    assert SessionCookies(KEY, seconds=60).read(garbage) is None


def test_each_session_has_its_own_csrf_token() -> None:
    cookies = SessionCookies(KEY, seconds=60)
    first, _ = cookies.new(credential_id="c1", tenant_id="t1", tenant_name="acme", admin_name="alice")
    second, _ = cookies.new(credential_id="c1", tenant_id="t1", tenant_name="acme", admin_name="alice")

    assert cookies.csrf_matches(first, cookies.csrf_token(first))
    assert not cookies.csrf_matches(first, cookies.csrf_token(second))
    assert not cookies.csrf_matches(first, None)
    assert not cookies.csrf_matches(first, "é")  # any posted text is compared, none raises


def test_a_csrf_token_is_not_a_sign_in_token_for_the_same_value() -> None:
    """Each HMAC carries its purpose, so one kind of token never passes for another."""
    cookies = SessionCookies(KEY, seconds=60)
    session, _ = cookies.new(credential_id="c1", tenant_id="t1", tenant_name="acme", admin_name="alice")

    assert not cookies.login_matches(session.session_id, cookies.csrf_token(session))


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        SessionCookies(b"short", seconds=60)
