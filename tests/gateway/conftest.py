"""Gateway fixtures: an app on SQLite and again on the real PostgreSQL, with authorities, tokens and a platform."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from spotcheck.gateway.access import create_token
from spotcheck.gateway.app import create_app
from spotcheck.gateway.settings import Settings
from spotcheck.gateway.store.engine import create_engine, session_factory
from spotcheck.gateway.store.models import Authority
from spotcheck.gateway.store.types import new_id
from spotcheck.schemas import Reply, encode_message
from spotcheck.sdk import Webhook, generate_keypair, new_message_id


@dataclass
class PlatformHandle:
    """A registered test platform: its id, the key it signs replies with, and the secret notices come with."""

    id: str
    reply_signer: Webhook
    notice_secret: str


@dataclass
class Gateway:
    """A running gateway under test with helpers to act as regulators and platforms."""

    client: AsyncTestClient[Any]
    settings: Settings
    # The app runs on the test client's own event loop; the test reaches the same database through its own engine.
    sessions: async_sessionmaker[AsyncSession]

    async def authority(
        self, code: str, name: str, *, scopes: tuple[str, ...] = ("read", "write", "admin"), email: str | None = None
    ) -> str:
        """Create an authority (or reuse the one with that code) and a token for it; returns the token."""
        async with self.sessions() as session, session.begin():
            from sqlalchemy import select

            authority = await session.scalar(select(Authority).where(Authority.division_code == code))
            if authority is None:
                level = (
                    "national"
                    if code == "100000"
                    else "provincial"
                    if code.endswith("0000")
                    else ("municipal" if code.endswith("00") else "county")
                )
                authority = Authority(
                    id=new_id("auth"), name=name, level=level, division_code=code, contact_email=email
                )
                session.add(authority)
                await session.flush()
            token, row = create_token(authority.id, list(scopes))
            session.add(row)
        return token

    def auth(self, token: str) -> dict[str, str]:
        return {"authorization": f"Bearer {token}"}

    async def post(self, path: str, token: str, body: dict[str, Any] | None = None, *, expect: int = 201) -> Any:
        response = await self.client.post(path, json=body or {}, headers=self.auth(token))
        assert response.status_code == expect, f"{path}: {response.status_code} {response.text}"
        return response.json()

    async def get(self, path: str, token: str, *, expect: int = 200) -> Any:
        response = await self.client.get(path, headers=self.auth(token))
        assert response.status_code == expect, f"{path}: {response.status_code} {response.text}"
        return response.json()

    async def register_platform(self, token: str, platform_id: str, *, province: str = "330000") -> PlatformHandle:
        secret_key, public_key = generate_keypair()
        created = await self.post(
            "/v1/platforms",
            token,
            {
                "id": platform_id,
                "name": f"{platform_id} 网络有限公司",
                "province_code": province,
                "contact": {"name": "合规部", "email": f"compliance@{platform_id}.example"},
                "adapter": "webhook",
                "endpoint_url": f"http://127.0.0.1:9/{platform_id}/spotcheck",
                "inbound_keys": [public_key],
            },
        )
        return PlatformHandle(
            id=platform_id, reply_signer=Webhook(secret_key), notice_secret=created["outbound_signing_secret"]
        )

    async def reply(
        self,
        platform: PlatformHandle,
        message: Reply,
        *,
        msg_id: str | None = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """Sign and send a platform reply; returns the raw response."""
        raw = body if body is not None else encode_message(message)
        signed = platform.reply_signer.headers(msg_id or new_message_id(), raw)
        signed["content-type"] = "application/json"
        signed.update(headers or {})
        return await self.client.post(f"/v1/intake/{platform.id}", content=raw, headers=signed)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    fresh_postgres: Callable[[], contextlib.AbstractAsyncContextManager[str]],
) -> AsyncIterator[str]:
    """The store under test: the embedded SQLite default, then the real PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    else:
        async with fresh_postgres() as url:
            yield url


@pytest.fixture
async def gateway(database_url: str, tmp_path: Path) -> AsyncIterator[Gateway]:
    """A gateway app (no in-process worker) on the store under test."""
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        allow_private_endpoints=True,
        run_worker=False,
        log_json=True,
        log_level="WARNING",
        public_base_url="https://spotcheck.example.gov.cn",
    )
    app = create_app(settings)
    async with AsyncTestClient(app=app) as client:
        engine = create_engine(database_url)
        try:
            yield Gateway(client=client, settings=settings, sessions=session_factory(engine))
        finally:
            await engine.dispose()
