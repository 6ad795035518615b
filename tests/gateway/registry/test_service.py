"""The registry service without HTTP: conflicts, jurisdiction, scopes, SSRF refusal, secrets at rest, key rotation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select, text

from spotcheck.gateway.access import Principal, authenticate, create_token
from spotcheck.gateway.registry.service import PlatformService, RegistryService, create_token_for_authority
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.models import ApiToken, AuditRecord, Authority, Platform, PlatformKey
from spotcheck.gateway.web.problems import ProblemError
from spotcheck.sdk import generate_keypair, generate_secret

pytestmark = pytest.mark.postgres

Regulator = Callable[..., Awaitable[Principal]]


async def register(runtime: Runtime, principal: Principal, platform_id: str = "tmall-test", **fields: Any) -> Any:
    async with runtime.sessions() as session:
        return await PlatformService(session, principal, runtime).register_platform(
            platform_id=platform_id,
            name=f"{platform_id} 网络有限公司",
            province_code=fields.pop("province_code", "330000"),
            contact={"name": "合规部"},
            inbound_keys=fields.pop("inbound_keys", [generate_keypair()[1]]),
            endpoint_url=fields.pop("endpoint_url", "http://127.0.0.1:9/hook"),
            **fields,
        )


async def refusal(call: Awaitable[Any]) -> ProblemError:
    with pytest.raises(ProblemError) as caught:
        await call
    return caught.value


async def test_registering_twice_answers_409_naming_the_field(runtime: Runtime, regulator: Regulator) -> None:
    zj = await regulator("330000")
    await register(runtime, zj)
    async with runtime.sessions() as session:
        service = RegistryService(session, zj, runtime)
        await service.create_authority(name="杭州市市场监督管理局", division_code="330100")
        again = await refusal(service.create_authority(name="杭州市局", division_code="330100"))
        assert (again.status_code, again.code, again.errors[0].field) == (409, "conflict", "division_code")
        platform = await refusal(
            PlatformService(session, zj, runtime).register_platform(
                platform_id="tmall-test",
                name="x",
                province_code="330000",
                contact={"name": "x"},
                inbound_keys=[generate_keypair()[1]],
            )
        )
        assert (platform.status_code, platform.errors[0].field) == (409, "id")
        await service.register_merchant(platform_id="tmall-test", shop_id="s1", shop_name="店", kind="natural_person")
        shop = await refusal(
            service.register_merchant(platform_id="tmall-test", shop_id="s1", shop_name="店", kind="natural_person")
        )
        assert (shop.status_code, shop.errors[0].field) == (409, "shop_id")
        unknown = await refusal(
            service.register_merchant(platform_id="nope", shop_id="s2", shop_name="店", kind="natural_person")
        )
        assert (unknown.status_code, unknown.errors[0].field) == (404, "platform_id")


async def test_another_area_answers_403(runtime: Runtime, regulator: Regulator) -> None:
    zj = await regulator("330000")
    gd = await regulator("440000")
    await register(runtime, zj)
    async with runtime.sessions() as session:
        zj_service = RegistryService(session, zj, runtime)
        outside = await refusal(zj_service.create_authority(name="广州市局", division_code="440100"))
        assert (outside.status_code, outside.code) == (403, "outside-jurisdiction")
        # A "national" authority at a district's code would cover every province: the code decides the level.
        widened = await refusal(zj_service.create_authority(name="某区局", division_code="330199", level="national"))
        assert (widened.status_code, widened.errors[0].field) == (422, "level")
        hz = await zj_service.create_authority(name="杭州市局", division_code="330100")
        entrusted = await refusal(
            zj_service.create_entrustment(agent_authority_id=hz.id, division_code="440100", note=None)
        )
        assert (entrusted.status_code, entrusted.errors[0].field) == (403, "division_code")
        merchant = await zj_service.register_merchant(
            platform_id="tmall-test",
            shop_id="c1",
            shop_name="某旗舰店",
            kind="registered_entity",
            registration_division="330106",
        )
    async with runtime.sessions() as session:
        gd_service = RegistryService(session, gd, runtime)
        foreign = await refusal(gd_service.mark_unreachable(merchant.id))
        assert (foreign.status_code, foreign.code) == (403, "outside-jurisdiction")
        assert (await refusal(gd_service.mark_unreachable("mer_missing"))).status_code == 404
    async with runtime.sessions() as session:
        marked = await RegistryService(session, zj, runtime).mark_unreachable(merchant.id)
        assert marked.unreachable_since is not None


async def test_a_stored_level_broader_than_the_code_widens_nothing(runtime: Runtime) -> None:
    """An authority stored as "national" at a district's code (possible before levels were checked) keeps its own
    area: the principal's level comes from the code."""
    async with runtime.sessions() as session, session.begin():
        session.add(Authority(id="auth_wide", name="某区局", level="national", division_code="330199"))
        await session.flush()
        token, row = create_token("auth_wide", ["read"])
        session.add(row)
    async with runtime.sessions() as session:
        principal = await authenticate(session, token)
    assert principal is not None
    assert principal.level == "county"
    assert not principal.can_act_in("440100")


async def test_each_command_needs_its_scope(runtime: Runtime, regulator: Regulator) -> None:
    writer = await regulator("330000", scopes=("read", "write"))
    reader = await regulator("330000", scopes=("read",))
    async with runtime.sessions() as session:
        as_writer = RegistryService(session, writer, runtime)
        for admin_only in (
            as_writer.create_authority(name="x", division_code="330100"),
            as_writer.create_entrustment(agent_authority_id="auth_x", division_code="330100", note=None),
            PlatformService(session, writer, runtime).rotate_key(
                "tmall-test", direction="outbound", key=None, overlap_hours=1
            ),
        ):
            assert (await refusal(admin_only)).code == "insufficient-scope"
        as_reader = RegistryService(session, reader, runtime)
        for write_only in (
            as_reader.register_manufacturer(name="厂"),
            as_reader.register_merchant(shop_id="s", shop_name="店", kind="natural_person", website="https://x.cn"),
            as_reader.mark_unreachable("mer_x"),
        ):
            assert (await refusal(write_only)).code == "insufficient-scope"
        assert [a.division_code for a in await as_reader.list_authorities()] == ["330000"]


async def test_private_endpoints_are_refused_and_nothing_is_stored(runtime: Runtime, regulator: Regulator) -> None:
    runtime.settings = runtime.settings.with_changes({"delivery.allow_private_endpoints": False})
    zj = await regulator("330000")
    for url in ("https://127.0.0.1/hook", "https://10.0.0.8/hook", "https://169.254.169.254/latest", "https://[::1]/"):
        refused = await refusal(register(runtime, zj, endpoint_url=url))
        assert (refused.status_code, refused.errors[0].field) == (400, "endpoint_url"), url
    async with runtime.sessions() as session:
        assert await session.get(Platform, "tmall-test") is None
        assert (await session.scalars(select(PlatformKey))).all() == []


async def test_adapter_and_key_problems_name_their_field(runtime: Runtime, regulator: Regulator) -> None:
    zj = await regulator("330000")
    unknown = await refusal(register(runtime, zj, adapter="webhok"))
    assert unknown.errors[0].field == "adapter"
    assert "misspelled or not installed" in unknown.detail
    config = await refusal(register(runtime, zj, adapter="open-platform", endpoint_url=None, adapter_config={}))
    assert config.errors[0].field.startswith("adapter_config.")
    secret_key = await refusal(register(runtime, zj, inbound_keys=[generate_keypair()[1], generate_keypair()[0]]))
    assert secret_key.errors[0].field == "inbound_keys[1]"


async def test_secrets_are_sealed_at_rest_and_never_listed(runtime: Runtime, regulator: Regulator) -> None:
    zj = await regulator("330000")
    shared = generate_secret()
    registered = await register(
        runtime,
        zj,
        "top-mall",
        adapter="open-platform",
        endpoint_url=None,
        inbound_keys=[shared],
        adapter_config={
            "url": "http://127.0.0.1:9/router/rest",
            "app_key": "12345678",
            "app_secret": "very-secret-app-secret",
            "methods": {"takedown.order": "gov.takedown"},
        },
    )
    assert registered.outbound_signing_secret.startswith("whsec_")
    assert len(registered.inbound_key_ids) == 1
    outbound = registered.outbound_signing_secret.removeprefix("whsec_")
    async with runtime.sessions() as session:
        stored = repr((await session.execute(text("SELECT * FROM platform_keys"))).all())
        stored += repr((await session.execute(text("SELECT * FROM platforms"))).all())
        listed = repr([vars(p) for p in await PlatformService(session, zj, runtime).list_platforms()])
        row = await session.get(Platform, "top-mall")
    for secret in (outbound, shared.removeprefix("whsec_"), "very-secret-app-secret"):
        assert secret not in stored
        assert secret not in listed
    assert row is not None
    assert "app_secret" in row.adapter_config["__sealed__"]
    async with runtime.sessions() as session:
        audited = await session.scalar(select(AuditRecord).where(AuditRecord.action == "platform.registered"))
    assert audited is not None
    assert "very-secret-app-secret" not in repr(audited.detail)
    assert outbound not in repr(audited.detail)


async def test_rotation_bounds_older_keys_and_drops_the_cached_verifier(runtime: Runtime, regulator: Regulator) -> None:
    zj = await regulator("330000")
    await register(runtime, zj)
    async with runtime.sessions() as session:
        service = PlatformService(session, zj, runtime)
        missing = await refusal(service.rotate_key("tmall-test", direction="inbound", key=None, overlap_hours=1))
        assert (missing.status_code, missing.errors[0].field) == (400, "key")
        unknown = await refusal(service.rotate_key("nope", direction="outbound", key=None, overlap_hours=1))
        assert (unknown.status_code, unknown.code) == (404, "not-found")
        outbound = await service.rotate_key("tmall-test", direction="outbound", key=None, overlap_hours=2)
    assert outbound.outbound_signing_secret is not None
    assert outbound.outbound_signing_secret.startswith("whsec_")
    runtime.inbound_verifiers["tmall-test"] = (float("inf"), object())  # a verifier cached for ever
    async with runtime.sessions() as session:
        inbound = await PlatformService(session, zj, runtime).rotate_key(
            "tmall-test", direction="inbound", key=generate_keypair()[1], overlap_hours=0
        )
    assert inbound.outbound_signing_secret is None
    assert "tmall-test" not in runtime.inbound_verifiers
    async with runtime.sessions() as session:
        keys = (await session.scalars(select(PlatformKey).order_by(PlatformKey.created_at))).all()
    ends = {(k.direction, k.id in {outbound.key_id, inbound.key_id}): k.valid_until for k in keys}
    assert ends[("outbound", True)] is None
    assert ends[("outbound", False)] is not None
    assert ends[("inbound", True)] is None
    assert ends[("inbound", False)] is not None


async def test_cli_tokens_make_the_authority_once(runtime: Runtime) -> None:
    settings = runtime.settings

    async def issue(**fields: Any) -> tuple[str, str]:
        options: dict[str, Any] = {"authority_name": None, "level": None, "scopes": ["write"], "label": "ops"}
        return await create_token_for_authority(settings, **{**options, **fields})

    token, authority_id = await issue(authority_code="330000", authority_name="浙江省市场监督管理局")
    second, same = await issue(authority_code="330000")
    assert same == authority_id
    with pytest.raises(ValueError, match="authority-name"):
        await issue(authority_code="440000")
    with pytest.raises(ValueError, match="authority-code"):
        await issue(authority_code="33000")
    with pytest.raises(ValueError, match="level: the code 330106 denotes a county authority"):
        await issue(authority_code="330106", authority_name="西湖区局", level="national")
    async with runtime.sessions() as session:
        principal = await authenticate(session, token)
        authority = await session.get(Authority, authority_id)
        tokens = (await session.scalars(select(ApiToken).where(ApiToken.authority_id == authority_id))).all()
        audited = (await session.scalars(select(AuditRecord).where(AuditRecord.action == "token.created"))).all()
    assert principal is not None
    assert principal.scopes == frozenset({"read", "write"})
    assert authority is not None
    assert authority.level == "provincial"
    assert len(tokens) == len(audited) == 2
    assert second != token
