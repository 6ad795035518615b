from __future__ import annotations

import importlib.metadata
from typing import Any

import pytest

from spotcheck.adapters import (
    Adapter,
    AdapterContext,
    AdapterLoadError,
    AdapterNotFoundError,
    AnnouncementAdapter,
    InMemoryAnnouncementSink,
    MemoryAdapter,
    OpenPlatformAdapter,
    SmtpAdapter,
    WebhookAdapter,
    _registry,
    available_adapters,
    load_adapter,
)


def test_all_five_builtins_are_found_by_entry_point() -> None:
    assert {"webhook", "open-platform", "smtp", "announcement", "memory"} <= set(available_adapters())
    expected = {
        "webhook": WebhookAdapter,
        "open-platform": OpenPlatformAdapter,
        "smtp": SmtpAdapter,
        "announcement": AnnouncementAdapter,
        "memory": MemoryAdapter,
    }
    for name, cls in expected.items():
        loaded = load_adapter(name)
        assert loaded is cls
        assert loaded.name == name
        assert load_adapter(name) is loaded  # cached


def test_builtins_satisfy_the_protocol() -> None:
    context = AdapterContext(signing_keys=("whsec_" + "A" * 32,), announcement_sink=InMemoryAnnouncementSink())
    configs: dict[str, dict[str, Any]] = {
        "webhook": {"url": "https://93.184.215.14/hook"},
        "open-platform": {"url": "https://93.184.215.14/r", "app_key": "k", "app_secret": "s", "methods": {"a": "b"}},
        "smtp": {"host": "mail.example.cn", "from": "a@b.cn", "to": ["c@d.cn"]},
        "announcement": {},
        "memory": {},
    }
    for name, config in configs.items():
        assert isinstance(load_adapter(name)(config, context=context), Adapter)


def test_misspelled_name_fails_clearly() -> None:
    with pytest.raises(AdapterNotFoundError) as error:
        load_adapter("webhok")
    message = str(error.value)
    assert message.startswith("adapter 'webhok' not found: misspelled or not installed (installed: ")
    assert "announcement, memory, open-platform, smtp, webhook" in message
    assert isinstance(error.value, LookupError)


def _fake_entry_points(*entries: importlib.metadata.EntryPoint) -> Any:
    def select(*, group: str, name: str | None = None) -> list[importlib.metadata.EntryPoint]:
        return [e for e in entries if e.group == group and (name is None or e.name == name)]

    return select


@pytest.mark.parametrize(
    ("entries", "words"),
    [
        (
            [importlib.metadata.EntryPoint("broken", "spotcheck_no_such_module:Adapter", "spotcheck.adapters")],
            "failed to import: ModuleNotFoundError",
        ),
        ([importlib.metadata.EntryPoint("broken", "json:dumps", "spotcheck.adapters")], "not an adapter class"),
        (
            [
                importlib.metadata.EntryPoint("broken", "a.b:C", "spotcheck.adapters"),
                importlib.metadata.EntryPoint("broken", "d.e:F", "spotcheck.adapters"),
            ],
            "registered more than once",
        ),
    ],
)
def test_broken_registrations_fail_clearly(
    monkeypatch: pytest.MonkeyPatch, entries: list[importlib.metadata.EntryPoint], words: str
) -> None:
    monkeypatch.setattr(importlib.metadata, "entry_points", _fake_entry_points(*entries))
    _registry.load_adapter.cache_clear()
    try:
        with pytest.raises(AdapterLoadError, match=words):
            load_adapter("broken")
    finally:
        _registry.load_adapter.cache_clear()
