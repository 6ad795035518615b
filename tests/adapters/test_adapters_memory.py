from __future__ import annotations

import asyncio

import pytest

from spotcheck.adapters import (
    AdapterConfigError,
    AdapterContext,
    DeliveryOutcome,
    MemoryAdapter,
    OutgoingMessage,
    memory_mailbox,
    reset_memory_mailboxes,
)

from .conftest import make_message


def build(**config: object) -> MemoryAdapter:
    return MemoryAdapter(config, context=AdapterContext())


async def test_records_every_attempt_and_delivers_by_default() -> None:
    adapter = build()
    outcome = await adapter.deliver(make_message())
    assert (outcome.status, outcome.remote_reference) == ("delivered", "mem-msg_01HF0000000000000000000000")
    assert memory_mailbox().attempts == [make_message()]
    assert memory_mailbox().delivered == [make_message()]
    await adapter.aclose()
    assert adapter.closed


async def test_mailbox_script_then_config_script_then_default() -> None:
    adapter = build(mailbox="flaky", outcomes=["throttled", "gone"], then="rejected")
    mailbox = memory_mailbox("flaky")
    mailbox.script("retry", DeliveryOutcome(status="delivered", remote_reference="r-1", http_status=202))
    statuses = [(await adapter.deliver(make_message(attempt=n))).status for n in range(1, 7)]
    assert statuses == ["retry", "delivered", "throttled", "gone", "rejected", "rejected"]
    assert [m.attempt for m in mailbox.attempts] == [1, 2, 3, 4, 5, 6]
    assert [m.attempt for m in mailbox.delivered] == [2]
    assert mailbox.outcomes[1] is not None
    assert mailbox.outcomes[1].remote_reference == "r-1"
    assert memory_mailbox().attempts == []  # other mailboxes are untouched


async def test_scripted_functions_may_block_or_raise() -> None:
    adapter = build(mailbox="slow")
    mailbox = memory_mailbox("slow")
    gate = asyncio.Event()

    async def held(message: OutgoingMessage) -> DeliveryOutcome:
        await gate.wait()
        return DeliveryOutcome(status="delivered", remote_reference=f"held-{message.attempt}")

    def faulty(message: OutgoingMessage) -> DeliveryOutcome:
        raise RuntimeError("adapter bug")

    mailbox.script(held, faulty, lambda message: DeliveryOutcome(status="retry", error="sync"))
    in_flight = asyncio.create_task(adapter.deliver(make_message()))
    await asyncio.sleep(0)
    assert len(mailbox.attempts) == 1
    assert not in_flight.done()
    gate.set()
    assert (await in_flight).remote_reference == "held-1"
    with pytest.raises(RuntimeError, match="adapter bug"):
        await adapter.deliver(make_message(attempt=2))
    assert (await adapter.deliver(make_message(attempt=3))).error == "sync"
    assert mailbox.outcomes[1] is None
    assert [m.attempt for m in mailbox.delivered] == [1]


def test_script_refuses_unknown_statuses_and_clear_forgets() -> None:
    mailbox = memory_mailbox("x")
    with pytest.raises(ValueError, match="delivred"):
        mailbox.script("delivred")  # type: ignore[arg-type]
    mailbox.script("retry")
    mailbox.attempts.append(make_message())
    mailbox.outcomes.append(None)
    mailbox.clear()
    assert (mailbox.attempts, mailbox.outcomes, mailbox._next()) == ([], [], None)
    reset_memory_mailboxes()
    assert memory_mailbox("x") is not mailbox


@pytest.mark.parametrize(
    ("config", "field"),
    [({"outcomes": ["maybe"]}, "outcomes"), ({"then": "lost"}, "then"), ({"mailbox": ""}, "mailbox"), ({"y": 1}, "y")],
)
def test_config_errors_name_the_field(config: dict[str, object], field: str) -> None:
    with pytest.raises(AdapterConfigError) as error:
        MemoryAdapter.validate_config(config)
    assert error.value.field == field
