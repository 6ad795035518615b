"""Settings: one typed object, every value read from its SPOTCHECK_* variable and bounded, errors naming both."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from spotcheck.gateway.settings import DEFAULT_RETRY_SCHEDULE, Settings, adapter_url_variable


def test_defaults_are_the_documented_ones() -> None:
    settings = Settings()
    assert settings.store.url == "sqlite+aiosqlite:///var/spotcheck.db"
    assert settings.store.is_sqlite
    assert (settings.http.host, settings.http.port) == ("127.0.0.1", 8000)
    assert (settings.worker.run, settings.worker.batch, settings.worker.concurrency) == (True, 64, 32)
    assert settings.delivery.retry_schedule == DEFAULT_RETRY_SCHEDULE
    assert settings.delivery.http_transport == "aiohttp"
    assert settings.delivery.adapter_urls == {}
    assert settings.log.level == "INFO"


def test_every_setting_has_exactly_one_variable_and_no_two_share_one() -> None:
    variables: list[str] = []
    for group in Settings.__struct_fields__:
        group_type = typing.get_type_hints(Settings)[group]
        hints = typing.get_type_hints(group_type, include_extras=True)
        for name in group_type.__struct_fields__:
            found = [m.extra["env"] for m in getattr(hints[name], "__metadata__", ()) if getattr(m, "extra", None)]
            if name == "adapter_urls":  # one variable per installed adapter, by name
                assert found == []
                continue
            assert len(found) == 1, f"{group}.{name}"
            variables.append(found[0])
    assert len(variables) == len(set(variables))
    assert all(v.startswith("SPOTCHECK_") for v in variables)


def test_values_are_read_from_the_environment_and_converted() -> None:
    settings = Settings.from_env(
        {
            "SPOTCHECK_DATA_DIR": "/srv/spotcheck",
            "SPOTCHECK_WORKER_BATCH": "8",
            "SPOTCHECK_RUN_WORKER": "off",
            "SPOTCHECK_ALLOW_PRIVATE_ENDPOINTS": "yes",
            "SPOTCHECK_RETRY_SCHEDULE": "1, 2.5,10",
            "SPOTCHECK_HTTP_TRANSPORT": "httpx",
            "SPOTCHECK_LOG_LEVEL": "debug",
            "SPOTCHECK_PORT": "",  # empty means unset
        }
    )
    assert settings.store.data_dir == Path("/srv/spotcheck")
    assert settings.store.url == "sqlite+aiosqlite:////srv/spotcheck/spotcheck.db"
    assert settings.worker.batch == 8
    assert settings.worker.run is False
    assert settings.delivery.allow_private_endpoints is True
    assert settings.delivery.retry_schedule == (1.0, 2.5, 10.0)
    assert settings.delivery.http_transport == "httpx"
    assert settings.log.level == "DEBUG"
    assert settings.http.port == 8000


@pytest.mark.parametrize(
    ("variable", "raw", "reason"),
    [
        ("SPOTCHECK_WORKER_BATCH", "0", ">= 1"),
        ("SPOTCHECK_PORT", "eighty", "Expected `int`"),
        ("SPOTCHECK_PORT", "70000", "<= 65535"),
        ("SPOTCHECK_RUN_WORKER", "maybe", "Expected `bool`"),
        ("SPOTCHECK_HTTP_TRANSPORT", "curl", "Invalid enum value"),
        ("SPOTCHECK_RETRY_SCHEDULE", "5,-1", ">= 0"),
        ("SPOTCHECK_RETRY_JITTER", "2", "<= 1"),
        ("SPOTCHECK_ENDPOINT_RATE_PER_S", "0", "> 0"),
        ("SPOTCHECK_ENDPOINT_RATE_PER_S", "inf", "finite"),
        ("SPOTCHECK_SIGNATURE_TOLERANCE_S", "5", ">= 30"),
        ("SPOTCHECK_MAX_REQUEST_BYTES", "100", ">= 1024"),
        ("SPOTCHECK_PUBLIC_BASE_URL", "ftp://x", "matching regex"),
        ("SPOTCHECK_LOG_LEVEL", "LOUD", "Invalid enum value"),
    ],
)
def test_a_bad_value_is_refused_naming_its_variable(variable: str, raw: str, reason: str) -> None:
    with pytest.raises(ValueError, match=variable) as caught:
        Settings.from_env({variable: raw})
    assert reason in str(caught.value)


def test_changes_are_validated_like_the_environment_and_name_the_setting() -> None:
    changed = Settings().with_changes({"worker.batch": 2, "store.data_dir": "/srv/x", "worker.run": False})
    assert (changed.worker.batch, changed.store.data_dir, changed.worker.run) == (2, Path("/srv/x"), False)
    assert Settings().worker.batch == 64  # immutable: the original is untouched
    with pytest.raises(ValueError, match=r"SPOTCHECK_WORKER_BATCH \(worker.batch\)"):
        Settings().with_changes({"worker.batch": 0})
    with pytest.raises(ValueError, match=r"worker\.bogus: no such setting"):
        Settings().with_changes({"worker.bogus": 1})
    with pytest.raises(ValueError, match="no such setting"):
        Settings().with_changes({"batch": 1})


def test_an_adapter_url_is_read_for_every_installed_adapter_but_never_from_the_gateway_own_variables() -> None:
    assert adapter_url_variable("open-platform") == "SPOTCHECK_OPEN_PLATFORM_URL"
    settings = Settings.from_env(
        {
            "SPOTCHECK_SMTP_URL": "smtp://relay.example:2525?from=noreply@amr.example",
            "SPOTCHECK_DATABASE_URL": "postgresql+asyncpg://db/spotcheck",
            "SPOTCHECK_NOT_AN_ADAPTER_URL": "x://y",
        }
    )
    assert settings.delivery.adapter_urls == {"smtp": "smtp://relay.example:2525?from=noreply@amr.example"}
    assert settings.store.url == "postgresql+asyncpg://db/spotcheck"
    assert not settings.store.is_sqlite
