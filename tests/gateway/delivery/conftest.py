"""Fixtures for the delivery stages: claimed messages, a runtime of their own, a third-party adapter."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from spotcheck.gateway.delivery.queue import ClaimedMessage
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.settings import Settings

# A delivery adapter as a third party would ship it: its own module, its own distribution, one entry point.
FAX_MODULE = """
from typing import Any, ClassVar

from spotcheck.adapters import AdapterConfigError, AdapterContext, DeliveryOutcome, OutgoingMessage

SENT: list[tuple[str, str]] = []


class FaxAdapter:
    name: ClassVar[str] = "fax"

    @classmethod
    def validate_config(cls, config: Any) -> dict[str, Any]:
        if not isinstance(config.get("number"), str):
            raise AdapterConfigError(cls.name, "number", "a fax number is required")
        return dict(config)

    def __init__(self, config: Any, *, context: AdapterContext) -> None:
        self.config = self.validate_config(config)
        self.context = context

    async def deliver(self, message: OutgoingMessage) -> DeliveryOutcome:
        SENT.append((self.config["number"], message.message_id))
        return DeliveryOutcome(status="delivered", remote_reference="fax-1")

    async def aclose(self) -> None:
        pass
"""


@pytest.fixture
def fax_adapter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The name of a third-party ``fax`` adapter, installed for this test through an entry point of its own."""
    name = f"fax-{uuid.uuid4().hex[:8]}"  # load_adapter caches by name: a fresh one per test
    site = tmp_path / "site"
    module = f"spotcheck_fax_{uuid.uuid4().hex[:8]}"
    site.mkdir()
    (site / f"{module}.py").write_text(FAX_MODULE)
    dist = site / f"{module}-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[spotcheck.adapters]\n{name} = {module}:FaxAdapter\n")
    monkeypatch.syspath_prepend(str(site))
    return name


def claimed(**overrides: Any) -> ClaimedMessage:
    """A claimed message addressed to a manufacturer, with any field replaced."""
    fields: dict[str, Any] = {
        "id": f"msg_{uuid.uuid4().hex}",
        "case_id": None,
        "message_type": "result.notice",
        "recipient_kind": "manufacturer",
        "recipient_id": "mfr-1",
        "recipient_name": "佛山某某电器制造有限公司",
        "adapter": "memory",
        "destination": {},
        "body": b'{"type":"result.notice"}',
        "timestamp": 1_772_416_800,
        "attempt_count": 0,
    }
    fields.update(overrides)
    return ClaimedMessage(**fields)


@pytest.fixture
async def runtime(database_url: str, tmp_path: Path) -> AsyncIterator[Runtime]:
    """A started runtime on the store under test (SQLite, then PostgreSQL), with no app around it."""
    settings = Settings().with_changes(
        {
            "store.data_dir": tmp_path / "data",
            "store.database_url": database_url,
            "delivery.allow_private_endpoints": True,
            "worker.run": False,
            "log.level": "WARNING",
        }
    )
    runtime = Runtime(settings)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()
