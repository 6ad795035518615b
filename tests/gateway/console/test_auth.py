"""Console login, sessions and logout, through the real form, on SQLite and PostgreSQL.

Covered: a login goes on to ``next`` and is audited under the officer's name; a wrong password and an unknown
username get the same answer; repeated failures lock the name out (known or not) until the lock time passes; an
idle session ends; a disabled officer is refused and their sessions end; logout ends the session.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from spotcheck.gateway.console.accounts import AccountService
from spotcheck.gateway.console.security import PRE_COOKIE, SESSION_COOKIE, sign_csrf
from spotcheck.gateway.console.sessions import session_digest
from spotcheck.gateway.store.models import AuditRecord
from spotcheck.gateway.store.models_console import ConsoleSession, LoginThrottle
from spotcheck.gateway.store.types import utcnow

from .conftest import PASSWORD

BAD_CREDENTIALS = "用户名或密码不正确，或该账户已停用。"
LOCKED = "连续登录失败次数过多"


async def audit_of(gateway: Any, action: str) -> list[AuditRecord]:
    async with gateway.sessions() as session:
        rows = await session.scalars(select(AuditRecord).where(AuditRecord.action == action).order_by(AuditRecord.seq))
        return list(rows)


async def test_login_goes_on_to_next_and_is_audited_under_the_officer(console: Any) -> None:
    username, authority_id, _ = await console.create_officer(authority_code="330100")
    browser = console.browser()
    refused = await browser.get("/console/cases?state=planned")
    assert refused.status_code == 303
    assert refused.headers["location"] == "/console/login?next=/console/cases%3Fstate%3Dplanned"

    answer = await browser.submit_login(username.upper(), PASSWORD, next_path="/console/cases?state=planned")

    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/cases?state=planned"
    assert browser.session_id
    # Logged in, the login page sends the officer straight on.
    again = await browser.get("/console/login?next=/console/audit")
    assert (again.status_code, again.headers["location"]) == (303, "/console/audit")
    [record] = await audit_of(console.gateway, "console.login")
    assert record.actor == f"authority:{authority_id}/officer:{username}"
    assert record.subject == f"officer:{username}"
    async with console.gateway.sessions() as session:
        stored = await session.get(ConsoleSession, session_digest(browser.session_id))
        assert stored is not None  # only the digest is stored, never the cookie's id
        assert await session.get(ConsoleSession, browser.session_id) is None


async def test_wrong_password_and_unknown_username_get_the_same_answer(console: Any) -> None:
    username, authority_id, _ = await console.create_officer()
    wrong = await console.browser().submit_login(username, "not-the-password")
    unknown = await console.browser().submit_login("nobody-here", "not-the-password")
    empty = await console.browser().submit_login("", "")

    assert wrong.status_code == unknown.status_code == 401
    assert BAD_CREDENTIALS in wrong.text
    assert BAD_CREDENTIALS in unknown.text
    assert 'value="nobody-here"' in unknown.text  # the form keeps what was typed, never the password
    assert "not-the-password" not in unknown.text
    assert empty.status_code == 400
    assert "请输入用户名" in empty.text
    assert "请输入密码" in empty.text
    refusals = await audit_of(console.gateway, "console.login_refused")
    assert [(r.actor, r.subject) for r in refusals] == [
        (f"authority:{authority_id}/officer:{username}", f"officer:{username}"),
        ("console", "officer:unknown"),  # a mistyped name is not recorded: it may be a password
    ]


async def test_repeated_failures_lock_the_name_out_until_the_lock_time_passes(console: Any) -> None:
    username, _, _ = await console.create_officer()
    limit = console.gateway.settings.console.max_failed_logins
    for _ in range(limit - 1):
        assert (await console.browser().submit_login(username, "wrong-password")).status_code == 401
    locking = await console.browser().submit_login(username, "wrong-password")
    assert locking.status_code == 429
    assert LOCKED in locking.text

    # Locked: even the right password is refused, and nothing is verified.
    refused = await console.browser().submit_login(username, PASSWORD)
    assert refused.status_code == 429
    assert LOCKED in refused.text
    # An unknown name behaves the same way, so the lock-out tells nobody which names exist.
    for _ in range(limit):
        last = await console.browser().submit_login("no-such-officer", "wrong-password")
    assert last.status_code == 429

    async with console.gateway.sessions() as session, session.begin():
        await session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.username == username)
            .values(locked_until=utcnow() - timedelta(seconds=1))
        )
    browser = console.browser()
    assert (await browser.submit_login(username, PASSWORD)).status_code == 303
    async with console.gateway.sessions() as session:
        assert await session.get(LoginThrottle, username) is None  # a success clears the count


async def test_an_idle_session_ends_and_the_officer_logs_in_again(console: Any) -> None:
    browser = await console.login()
    idle = console.gateway.settings.console.idle_timeout_minutes
    async with console.gateway.sessions() as session, session.begin():
        await session.execute(update(ConsoleSession).values(last_seen_at=utcnow() - timedelta(minutes=idle, seconds=1)))

    answer = await browser.get("/console/platforms")

    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/login?next=/console/platforms"
    async with console.gateway.sessions() as session:
        assert (await session.scalars(select(ConsoleSession))).all() == []
    login_page = await browser.get("/console/login")
    assert login_page.status_code == 200  # no longer logged in


async def test_a_session_in_use_is_kept_alive(console: Any) -> None:
    browser = await console.login()
    idle = console.gateway.settings.console.idle_timeout_minutes
    async with console.gateway.sessions() as session, session.begin():
        await session.execute(update(ConsoleSession).values(last_seen_at=utcnow() - timedelta(minutes=idle - 1)))

    assert (await browser.get("/console/login")).status_code == 303  # still logged in: touched
    async with console.gateway.sessions() as session:
        [stored] = (await session.scalars(select(ConsoleSession))).all()
        assert utcnow() - stored.last_seen_at < timedelta(minutes=1)


async def test_a_disabled_officer_is_refused_and_their_sessions_end(console: Any) -> None:
    browser = await console.login()
    async with console.gateway.sessions() as session:
        await AccountService(session, console.gateway.settings.console).disable(browser.username)

    assert (await browser.get("/console/audit")).status_code == 303
    again = await console.browser().submit_login(browser.username, PASSWORD)
    assert again.status_code == 401
    assert BAD_CREDENTIALS in again.text
    [refusal] = await audit_of(console.gateway, "console.login_refused")
    assert refusal.detail == {"reason": "disabled"}


async def test_logout_ends_the_session_and_is_audited(console: Any) -> None:
    browser = await console.login()
    session_id = browser.session_id

    answer = await browser.post("/console/logout")

    assert (answer.status_code, answer.headers["location"]) == (303, "/console/login")
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "Max-Age=0" in cookie
    assert browser.session_id is None
    async with console.gateway.sessions() as session:
        assert await session.get(ConsoleSession, session_digest(session_id)) is None
    [record] = await audit_of(console.gateway, "console.logout")
    assert record.actor.endswith(f"/officer:{browser.username}")
    # The old cookie, replayed, opens nothing.
    browser.cookies[SESSION_COOKIE] = session_id
    assert (await browser.get("/console/audit")).status_code == 303


async def test_every_login_gets_a_new_session_id(console: Any) -> None:
    browser = await console.login()
    first = browser.session_id

    # A second login from the same browser (the login form posted again, its pre-session token still valid).
    master_key = console.gateway.client.app.state.runtime.master_key
    token = sign_csrf(master_key, "pre", browser.cookies[PRE_COOKIE])
    form = {"username": browser.username, "password": PASSWORD, "csrf_token": token}
    again = await browser.post("/console/login", form, csrf=False)

    assert again.status_code == 303
    assert browser.session_id not in {None, first}
    async with console.gateway.sessions() as session:
        assert await session.get(ConsoleSession, session_digest(first)) is None


async def test_a_password_reset_ends_sessions_and_the_new_password_works(console: Any) -> None:
    browser = await console.login()
    async with console.gateway.sessions() as session:
        await AccountService(session, console.gateway.settings.console).reset_password(
            browser.username, "a-brand-new-password"
        )

    assert (await browser.get("/console/audit")).status_code == 303
    assert (await console.browser().submit_login(browser.username, PASSWORD)).status_code == 401
    assert (await console.browser().submit_login(browser.username, "a-brand-new-password")).status_code == 303


async def test_failed_logins_are_forgotten_a_day_after_the_last(console: Any) -> None:
    username, _, _ = await console.create_officer()
    limit = console.gateway.settings.console.max_failed_logins
    for _ in range(limit - 1):
        assert (await console.browser().submit_login(username, "wrong-password")).status_code == 401
    assert (await console.browser().submit_login("typo-name", "wrong-password")).status_code == 401
    async with console.gateway.sessions() as session, session.begin():
        await session.execute(update(LoginThrottle).values(last_failure_at=utcnow() - timedelta(hours=25)))

    # One more failure a day later counts from one again: no lock-out.
    assert (await console.browser().submit_login(username, "wrong-password")).status_code == 401

    async with console.gateway.sessions() as session:
        rows = {row.username: row.failures for row in await session.scalars(select(LoginThrottle))}
    assert rows == {username: 1}  # the stale typo is gone too


async def test_sessions_that_ended_by_time_are_deleted_at_the_next_login(console: Any) -> None:
    first = await console.login()
    async with console.gateway.sessions() as session, session.begin():
        await session.execute(update(ConsoleSession).values(expires_at=utcnow() - timedelta(seconds=1)))

    second = await console.login()

    async with console.gateway.sessions() as session:
        digests = {row.id_sha256 for row in await session.scalars(select(ConsoleSession))}
    assert digests == {session_digest(second.session_id)}
    assert first.session_id is not None
    assert (await first.get("/console/audit")).status_code == 303


async def test_an_htmx_request_without_a_session_reloads_the_login_page(console: Any) -> None:
    answer = await console.browser().get("/console/cases?page=2", headers={"hx-request": "true"})

    assert answer.status_code == 401
    assert answer.headers["hx-redirect"] == "/console/login?next=/console/cases%3Fpage%3D2"
    assert "location" not in answer.headers  # htmx would follow a 303 inside the fragment
