"""An in-memory adapter with scriptable outcomes, to test the gateway's delivery worker without a network.

Adapters are built by the worker, not by the test, so what they record lives in named mailboxes that the test
reaches with :func:`memory_mailbox` (the approach of Django's in-memory e-mail outbox)::

    mailbox = memory_mailbox("flaky")
    mailbox.script("retry", "throttled", DeliveryOutcome(status="delivered", remote_reference="r1"))
    ...  # the worker delivers through an endpoint configured as {"adapter": "memory", "mailbox": "flaky"}
    assert [m.message_id for m in mailbox.attempts] == [...]
"""

from __future__ import annotations

import inspect
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar, get_args

import msgspec

from spotcheck.adapters._base import AdapterContext, DeliveryOutcome, DeliveryStatus, OutgoingMessage
from spotcheck.adapters._config import InvalidField, parse_config
from spotcheck.adapters._http import elapsed_ms

__all__ = [
    "MemoryAdapter",
    "MemoryConfig",
    "MemoryMailbox",
    "ScriptedOutcome",
    "memory_mailbox",
    "reset_memory_mailboxes",
]

ScriptedOutcome = (
    DeliveryOutcome | DeliveryStatus | Callable[[OutgoingMessage], DeliveryOutcome | Awaitable[DeliveryOutcome]]
)
"""One scripted answer: an outcome, a bare status, or a (sync or async) function of the message.

A function may block (await an event) to hold a delivery in flight, or raise to play a faulty adapter.
"""


class MemoryMailbox:
    """Records every attempt made through it and hands out scripted outcomes, first in first out."""

    def __init__(self) -> None:
        self.attempts: list[OutgoingMessage] = []
        """Every message an adapter was asked to deliver, in order, failures included."""
        self.outcomes: list[DeliveryOutcome | None] = []
        """What each attempt returned, parallel to :attr:`attempts`; ``None`` where a scripted function raised."""
        self._script: deque[ScriptedOutcome] = deque()

    def script(self, *outcomes: ScriptedOutcome) -> None:
        """Queue answers for the next attempts; once used up, adapters fall back to their configuration.

        Raises:
            ValueError: a bare status is not one of :data:`DeliveryStatus`.
        """
        for outcome in outcomes:
            if isinstance(outcome, str) and outcome not in get_args(DeliveryStatus):
                raise ValueError(f"unknown delivery status {outcome!r}")
        self._script.extend(outcomes)

    @property
    def delivered(self) -> list[OutgoingMessage]:
        """The messages whose attempt returned ``delivered``."""
        return [
            message
            for message, outcome in zip(self.attempts, self.outcomes, strict=True)
            if outcome is not None and outcome.delivered
        ]

    def clear(self) -> None:
        """Forget every attempt and every queued answer."""
        self.attempts.clear()
        self.outcomes.clear()
        self._script.clear()

    def _next(self) -> ScriptedOutcome | None:
        return self._script.popleft() if self._script else None


_MAILBOXES: dict[str, MemoryMailbox] = {}


def memory_mailbox(name: str = "default") -> MemoryMailbox:
    """The mailbox called ``name``, created on first use and shared by every adapter configured with it."""
    return _MAILBOXES.setdefault(name, MemoryMailbox())


def reset_memory_mailboxes() -> None:
    """Forget every mailbox (call between tests)."""
    _MAILBOXES.clear()


class MemoryConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Configuration of an in-memory destination.

    Attributes:
        mailbox: the mailbox that records attempts (see :func:`memory_mailbox`).
        outcomes: statuses this adapter instance answers, in order, once the mailbox's script is used up.
        then: the status answered after that.
    """

    mailbox: str = "default"
    outcomes: list[DeliveryStatus] = []
    then: DeliveryStatus = "delivered"

    def __post_init__(self) -> None:
        if not self.mailbox:
            raise InvalidField("mailbox", "must not be empty")


class MemoryAdapter:
    """Delivers nowhere: records the attempt in its mailbox and answers what the script says.

    Answers come from the mailbox's script first, then the configuration's ``outcomes``, then ``then``. A
    ``delivered`` answer without a reference gets ``mem-<message id>`` as its remote reference.
    """

    name: ClassVar[str] = "memory"

    @classmethod
    def validate_config(cls, config: Mapping[str, Any]) -> MemoryConfig:
        """Parse and check ``config``.

        Raises:
            AdapterConfigError: names the field and the reason.
        """
        return parse_config(cls.name, config, MemoryConfig)

    def __init__(self, config: Mapping[str, Any], *, context: AdapterContext) -> None:
        self._config = self.validate_config(config)
        self._context = context
        self._own_script: deque[DeliveryStatus] = deque(self._config.outcomes)
        self.closed = False
        """Whether :meth:`aclose` was called."""

    @property
    def mailbox(self) -> MemoryMailbox:
        """The mailbox this adapter records into."""
        return memory_mailbox(self._config.mailbox)

    async def deliver(self, message: OutgoingMessage) -> DeliveryOutcome:
        """Record the attempt and return the next scripted outcome.

        Raises:
            Exception: only what a scripted function raises, to imitate a faulty adapter.
        """
        started = time.perf_counter()
        mailbox = self.mailbox
        mailbox.attempts.append(message)
        scripted = mailbox._next()  # noqa: SLF001 - the mailbox and its adapter are one unit
        if scripted is None:
            scripted = self._own_script.popleft() if self._own_script else self._config.then
        if callable(scripted):
            try:
                produced = scripted(message)
                outcome = await produced if inspect.isawaitable(produced) else produced
            except BaseException:
                mailbox.outcomes.append(None)
                raise
        elif isinstance(scripted, DeliveryOutcome):
            outcome = scripted
        else:
            error = None if scripted == "delivered" else f"scripted {scripted}"
            outcome = DeliveryOutcome(status=scripted, error=error)
        if outcome.delivered and outcome.remote_reference is None:
            outcome = msgspec.structs.replace(outcome, remote_reference=f"mem-{message.message_id}")
        if outcome.latency_ms == 0.0:
            outcome = msgspec.structs.replace(outcome, latency_ms=elapsed_ms(started))
        mailbox.outcomes.append(outcome)
        return outcome

    async def aclose(self) -> None:
        """Mark the adapter closed; the mailbox keeps its records."""
        self.closed = True
