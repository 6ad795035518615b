"""The platform's reply client: typed, signed, idempotent and retried calls to the gateway's intake.

Every reply is one ``POST {base_url}/v1/intake/{platform_id}`` whose body is the encoded reply message and
whose headers are the three Standard Webhooks headers. One logical call keeps one ``webhook-id`` (the
gateway's idempotency key) and one body across its retries; each attempt is signed afresh with the current
time, so a long retry never falls outside the gateway's timestamp tolerance.

What the caller gets back, by the gateway's answer (after retries where they apply):

====================================  ================================================  =======
answer                                result                                            retried
====================================  ================================================  =======
2xx ``accepted`` / ``duplicate``      :class:`ReplyReceipt`                             -
no answer (connect error, timeout)    :class:`~spotcheck.sdk.ConnectionFailed`          yes
429                                   :class:`~spotcheck.sdk.RateLimitError`            yes
500, 502, 503, 504                    :class:`~spotcheck.sdk.ServerError`               yes
other 5xx                             :class:`~spotcheck.sdk.ServerError`               no
401, 403                              :class:`~spotcheck.sdk.AuthenticationError`       no
400, 404, 409, 413, 415, 422          :class:`~spotcheck.sdk.InvalidRequestError`       no
anything else                         :class:`~spotcheck.sdk.APIError`                  no
====================================  ================================================  =======

Errors carry ``http_status``, ``code`` (the suffix of the RFC 9457 problem ``type``,
``urn:spotcheck:problem:<code>``), ``request_id`` (``x-request-id``) and ``detail``, which names the
failing fields the problem lists.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.metadata
import time
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, Literal, Self, TypeVar
from urllib.parse import quote

import httpx

from spotcheck.schemas import (
    MerchantIdentity,
    MerchantIdentityData,
    NoticeAcknowledged,
    NoticeAcknowledgedData,
    OrderConfirmed,
    OrderConfirmedData,
    RecordsUnavailable,
    RecordsUnavailableData,
    ReinspectionApplied,
    ReinspectionAppliedData,
    TakedownReported,
    TakedownReportedData,
    encode_message,
)
from spotcheck.sdk._answers import ReplyReceipt, UploadReceipt, read_answer, transport_failure, upload_receipt
from spotcheck.sdk._chunks import RecordChunks, UploadState
from spotcheck.sdk._replies import checked, chunk_message, upload_state
from spotcheck.sdk._retry import RetryableFailure, RetryPolicy
from spotcheck.sdk._signing import Webhook, new_message_id

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable, Sequence
    from types import TracebackType

    from spotcheck.schemas import LogEntry, Reply, ReportedMeasure, TransactionRecord

__all__ = ["AsyncGatewayClient", "GatewayClient", "ReplyReceipt", "UploadReceipt"]


_R = TypeVar("_R")

OrderType = Literal["stop_sale.order", "delisting.order", "takedown.order"]
IdentityDocument = Literal[
    "resident_id_card", "passport", "hk_macao_permit", "taiwan_permit", "foreign_permanent_residence"
]


@functools.cache
def _user_agent() -> str:
    try:
        version = importlib.metadata.version("spotcheck-sdk")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - running from a bare source tree
        version = "0"
    return f"spotcheck-sdk/{version} httpx/{httpx.__version__}"


class _GatewayCore(Generic[_R]):
    """What both clients share: configuration, message building, signing and reading answers.

    ``_R`` is what a one-message call returns: a :class:`ReplyReceipt`, or a coroutine of one.
    """

    def __init__(
        self,
        base_url: str,
        platform_id: str,
        signing_key: str | Sequence[str],
        *,
        timeout: float | httpx.Timeout,
        max_retries: int,
        backoff_base: float,
        backoff_max: float,
        clock: Callable[[], float],
    ) -> None:
        url = httpx.URL(base_url)
        if url.scheme not in {"http", "https"} or not url.host:
            raise ValueError("base_url must be an absolute http(s) URL")
        if not isinstance(platform_id, str) or not platform_id:
            raise ValueError("platform_id must be a non-empty string")
        self._webhook = Webhook(signing_key)
        if not self._webhook.can_sign:
            raise ValueError("signing_key must hold a whsec_ or whsk_ key: whpk_ keys can only verify")
        self._base_url = str(base_url).rstrip("/")
        self._platform_id = platform_id
        self._url = f"{self._base_url}/v1/intake/{quote(platform_id, safe='')}"
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._policy = RetryPolicy(max_retries=max_retries, backoff_base=backoff_base, backoff_max=backoff_max)
        self._clock = clock

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._url}>"

    @property
    def platform_id(self) -> str:
        """The platform id replies are signed and sent for."""
        return self._platform_id

    @property
    def intake_url(self) -> str:
        """The URL every reply is POSTed to."""
        return self._url

    # One-message replies. Each builds the typed message timestamped now, encodes and validates it (a
    # ContractError naming the field when it breaks the contract), then sends it through ``_send``.

    def _send(self, message: Reply, idempotency_key: str | None) -> _R:
        raise NotImplementedError

    def acknowledge(
        self, notice_id: str, case_id: str, *, received_at: datetime | None = None, idempotency_key: str | None = None
    ) -> _R:
        """Acknowledge receipt of a notice (``notice.acknowledged``, 签收).

        Args:
            notice_id: the ``webhook-id`` of the notice received.
            case_id: the notice's case.
            received_at: when the notice was received; now when omitted.
            idempotency_key: the ``webhook-id`` to send with (every retry of this call reuses it with the same
                body); a new one when omitted. The gateway applies a key once: a later call under a used key
                builds a new body (new timestamp) and is refused with :class:`~spotcheck.sdk.InvalidRequestError`
                code ``idempotency-conflict``, and the first reply stands.

        Returns:
            The :class:`ReplyReceipt` (a coroutine of one on :class:`AsyncGatewayClient`).

        Raises:
            ContractError: the message breaks the contract (``path`` names the field); nothing was sent.
            APIError: the gateway refused the reply or could not be reached (see the module's table).
        """
        now = self._now()
        data = NoticeAcknowledgedData(
            case_id=case_id, in_reply_to=notice_id, platform_id=self._platform_id, received_at=received_at or now
        )
        return self._send(NoticeAcknowledged(timestamp=now, data=data), idempotency_key)

    def confirm_order(
        self,
        case_id: str,
        in_reply_to: str,
        *,
        order_no: str,
        buyer_account: str,
        amount_fen: int,
        paid_at: datetime,
        shop_id: str,
        listing_snapshot_sha256: str,
        shipped_at: datetime | None = None,
        listing_id: str | None = None,
        discrepancy: str | None = None,
        idempotency_key: str | None = None,
    ) -> _R:
        """Confirm one order's e-documents (``order.confirmed``, 订单确认) in answer to a records request.

        Args:
            case_id: the case of the records request.
            in_reply_to: the ``webhook-id`` of the ``records.request`` notice.
            order_no: the order number.
            buyer_account: the buyer account that placed it.
            amount_fen: the amount paid, in fen.
            paid_at: when it was paid.
            shop_id: the shop that sold it.
            listing_snapshot_sha256: SHA-256 of the listing snapshot at order time.
            shipped_at: when it was shipped; ``None`` if not shipped.
            listing_id: the listing ordered.
            discrepancy: where the platform's records differ from the notice.
            idempotency_key: as :meth:`acknowledge`.

        Returns:
            The :class:`ReplyReceipt` (a coroutine of one on :class:`AsyncGatewayClient`).

        Raises:
            ContractError: the message breaks the contract; nothing was sent.
            APIError: as :meth:`acknowledge`.
        """
        data = OrderConfirmedData(
            case_id=case_id,
            in_reply_to=in_reply_to,
            platform_id=self._platform_id,
            order_no=order_no,
            buyer_account=buyer_account,
            amount_fen=amount_fen,
            paid_at=paid_at,
            shipped_at=shipped_at,
            shop_id=shop_id,
            listing_snapshot_sha256=listing_snapshot_sha256,
            listing_id=listing_id,
            discrepancy=discrepancy,
        )
        return self._send(OrderConfirmed(timestamp=self._now(), data=data), idempotency_key)

    def declare_records_unavailable(
        self, case_id: str, in_reply_to: str, *, orders: Sequence[str], reason: str, idempotency_key: str | None = None
    ) -> _R:
        """Declare orders of a records request that cannot be provided (``records.unavailable``, 无法提供说明).

        Under 三(一) of the opinion a records request is answered once each of its orders is confirmed
        (:meth:`confirm_order`) or declared here with a reason; when every order is declared, no records are due.

        Args:
            case_id: the case of the records request.
            in_reply_to: the ``webhook-id`` of the ``records.request`` notice.
            orders: the order numbers of the request that cannot be provided, each once.
            reason: why they cannot be provided.
            idempotency_key: as :meth:`acknowledge`.

        Returns:
            The :class:`ReplyReceipt` (a coroutine of one on :class:`AsyncGatewayClient`).

        Raises:
            ContractError: the message breaks the contract (e.g. an order listed twice); nothing was sent.
            APIError: as :meth:`acknowledge`.
        """
        data = checked(
            lambda: RecordsUnavailableData(
                case_id=case_id,
                in_reply_to=in_reply_to,
                platform_id=self._platform_id,
                orders=list(orders),
                reason=reason,
            )
        )
        return self._send(RecordsUnavailable(timestamp=self._now(), data=data), idempotency_key)

    def report_identity(
        self,
        case_id: str,
        in_reply_to: str,
        *,
        shop_id: str,
        legal_name: str,
        address: str,
        contact: str,
        uscc: str | None = None,
        id_type: IdentityDocument | None = None,
        id_number: str | None = None,
        idempotency_key: str | None = None,
    ) -> _R:
        """Give the merchant's real name, address and effective contact (``merchant.identity``, 五(一)).

        An entity is identified by ``uscc``; a natural person by ``id_type`` and ``id_number``.

        Args:
            case_id: the case of the identity request.
            in_reply_to: the ``webhook-id`` of the ``merchant.identity_request`` notice.
            shop_id: the shop the identity belongs to.
            legal_name: the merchant's real (legal) name.
            address: the merchant's address.
            contact: an effective contact (phone or e-mail).
            uscc: the unified social credit code, for entities.
            id_type: the identity document type, for natural persons.
            id_number: the identity document number, with ``id_type``.
            idempotency_key: as :meth:`acknowledge`.

        Returns:
            The :class:`ReplyReceipt` (a coroutine of one on :class:`AsyncGatewayClient`).

        Raises:
            ContractError: the message breaks the contract (e.g. neither ``uscc`` nor ``id_type``); nothing
                was sent.
            APIError: as :meth:`acknowledge`.
        """
        data = checked(
            lambda: MerchantIdentityData(
                case_id=case_id,
                in_reply_to=in_reply_to,
                platform_id=self._platform_id,
                shop_id=shop_id,
                legal_name=legal_name,
                address=address,
                contact=contact,
                uscc=uscc,
                id_type=id_type,
                id_number=id_number,
            )
        )
        return self._send(MerchantIdentity(timestamp=self._now(), data=data), idempotency_key)

    def report_identity_unavailable(
        self, case_id: str, in_reply_to: str, *, shop_id: str, reason: str, idempotency_key: str | None = None
    ) -> _R:
        """Declare that the merchant's identity cannot be provided (``merchant.identity`` with ``unable``).

        Under 五(一) of the opinion the platform then bears the consumers' compensation liability.

        Args:
            case_id: the case of the identity request.
            in_reply_to: the ``webhook-id`` of the ``merchant.identity_request`` notice.
            shop_id: the shop whose merchant cannot be identified.
            reason: why the identity cannot be provided.
            idempotency_key: as :meth:`acknowledge`.

        Returns:
            The :class:`ReplyReceipt` (a coroutine of one on :class:`AsyncGatewayClient`).

        Raises:
            ContractError: the message breaks the contract; nothing was sent.
            APIError: as :meth:`acknowledge`.
        """
        data = checked(
            lambda: MerchantIdentityData(
                case_id=case_id,
                in_reply_to=in_reply_to,
                platform_id=self._platform_id,
                shop_id=shop_id,
                unable=True,
                unable_reason=reason,
            )
        )
        return self._send(MerchantIdentity(timestamp=self._now(), data=data), idempotency_key)

    def report_takedown(
        self,
        case_id: str,
        in_reply_to: str,
        *,
        order_type: OrderType,
        measures_taken: Sequence[ReportedMeasure],
        listing_ids: Sequence[str] = (),
        shop_ids: Sequence[str] = (),
        none_found: bool = False,
        effective_at: datetime | None = None,
        evidence_sha256: Sequence[str] = (),
        note: str | None = None,
        idempotency_key: str | None = None,
    ) -> _R:
        """Report how a stop-sale, delisting or takedown order was carried out (``takedown.reported``).

        Name the listings or shops acted on, or report with ``none_found`` that the platform found none.

        Args:
            case_id: the order's case.
            in_reply_to: the ``webhook-id`` of the order carried out.
            order_type: the type of that order.
            measures_taken: what was done (``delete``, ``block``, ``stop_sale`` …), each once.
            listing_ids: listings affected.
            shop_ids: shops affected.
            none_found: no listing or shop of the order was found (未发现); ``listing_ids`` and ``shop_ids``
                are then empty.
            effective_at: when the measures took effect; now when omitted.
            evidence_sha256: SHA-256 of evidence files (screenshots, logs).
            note: further explanation.
            idempotency_key: as :meth:`acknowledge`.

        Returns:
            The :class:`ReplyReceipt` (a coroutine of one on :class:`AsyncGatewayClient`).

        Raises:
            ContractError: the message breaks the contract (e.g. ``none_found`` with ids); nothing was sent.
            APIError: as :meth:`acknowledge`.
        """
        now = self._now()
        data = checked(
            lambda: TakedownReportedData(
                case_id=case_id,
                in_reply_to=in_reply_to,
                platform_id=self._platform_id,
                order_type=order_type,
                measures_taken=list(measures_taken),
                listing_ids=list(listing_ids),
                shop_ids=list(shop_ids),
                effective_at=effective_at or now,
                evidence_sha256=list(evidence_sha256),
                note=note,
                none_found=none_found,
            )
        )
        return self._send(TakedownReported(timestamp=now, data=data), idempotency_key)

    def relay_reinspection(
        self,
        case_id: str,
        in_reply_to: str,
        *,
        applicant_role: Literal["merchant", "manufacturer"],
        applicant_name: str,
        applied_at: datetime,
        application_sha256: str,
        reason: str,
        applicant_uscc: str | None = None,
        result_received_at: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> _R:
        """Relay a merchant's or manufacturer's written re-inspection application (``reinspection.applied``).

        Args:
            case_id: the case.
            in_reply_to: the ``webhook-id`` of the result notice the application disputes.
            applicant_role: who applies.
            applicant_name: the applicant's name.
            applied_at: when the application was made (must be inside the window, 三(三)).
            application_sha256: SHA-256 of the written application.
            reason: why the applicant disputes the result.
            applicant_uscc: the applicant's unified social credit code.
            result_received_at: when the applicant received the result notice.
            idempotency_key: as :meth:`acknowledge`.

        Returns:
            The :class:`ReplyReceipt` (a coroutine of one on :class:`AsyncGatewayClient`).

        Raises:
            ContractError: the message breaks the contract; nothing was sent.
            APIError: as :meth:`acknowledge`.
        """
        data = checked(
            lambda: ReinspectionAppliedData(
                case_id=case_id,
                in_reply_to=in_reply_to,
                platform_id=self._platform_id,
                applicant_role=applicant_role,
                applicant_name=applicant_name,
                applied_at=applied_at,
                application_sha256=application_sha256,
                reason=reason,
                applicant_uscc=applicant_uscc,
                result_received_at=result_received_at,
            )
        )
        return self._send(ReinspectionApplied(timestamp=self._now(), data=data), idempotency_key)

    # Plumbing shared by both clients.

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def _headers(self, msg_id: str, body: bytes) -> dict[str, str]:
        """Sign this attempt at the current time: same id and body, fresh timestamp and signature."""
        headers = self._webhook.headers(msg_id, body, timestamp=int(self._clock()))
        headers["content-type"] = "application/json"
        headers["accept"] = "application/json, application/problem+json"
        headers["user-agent"] = _user_agent()
        return headers

    _upload_receipt = staticmethod(upload_receipt)
    _transport_failure = staticmethod(transport_failure)

    def _interpret(self, response: httpx.Response, msg_id: str) -> ReplyReceipt:
        """Turn the gateway's answer into a receipt, or raise the error it calls for (see :func:`read_answer`)."""
        return read_answer(response, msg_id, clock=self._clock)


class GatewayClient(_GatewayCore[ReplyReceipt]):
    """Sends a platform's replies to a Spotcheck gateway, blocking (:class:`httpx.Client`).

    Use as a context manager, or call :meth:`close`. Safe to share between threads.

    Args:
        base_url: the gateway's base URL, e.g. ``https://spotcheck.example.gov.cn``.
        platform_id: the platform id registered with the gateway.
        signing_key: the platform's ``whsk_`` (Ed25519) or ``whsec_`` key, or several while keys rotate
            (every signing key signs; the gateway needs one to verify).
        timeout: seconds for each of connect, read, write and pool acquisition, per attempt; or an
            :class:`httpx.Timeout`. Applied to every request, also on a caller's ``http_client``.
        max_retries: retries after the first attempt, on no answer, 429 and 500/502/503/504.
        backoff_base: the first backoff window in seconds (full jitter, doubling per retry).
        backoff_max: the cap on any wait, ``Retry-After`` included.
        transport: an httpx transport for the client this object creates (tests, proxies).
        http_client: an existing :class:`httpx.Client` to send with; the caller keeps owning and closing it.
        sleep: how to wait between attempts (tests pass a recorder instead of :func:`time.sleep`).
        clock: the current Unix time (message timestamps, signatures, ``Retry-After`` dates).

    Raises:
        ValueError: a malformed ``base_url``, key or retry setting, or both ``transport`` and ``http_client``.
    """

    def __init__(
        self,
        base_url: str,
        platform_id: str,
        signing_key: str | Sequence[str],
        *,
        timeout: float | httpx.Timeout = 10.0,
        max_retries: int = 5,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            base_url,
            platform_id,
            signing_key,
            timeout=timeout,
            max_retries=max_retries,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
            clock=clock,
        )
        if transport is not None and http_client is not None:
            raise ValueError("give either transport or http_client, not both")
        self._owns_client = http_client is None
        self._client = http_client or httpx.Client(transport=transport, timeout=self._timeout)
        self._sleep = sleep

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP client this object created (a caller's ``http_client`` stays open)."""
        if self._owns_client:
            self._client.close()

    def _send(self, message: Reply, idempotency_key: str | None) -> ReplyReceipt:
        body = encode_message(message)
        msg_id = idempotency_key or new_message_id()
        try:
            return self._policy.retrying(self._sleep)(self._attempt, msg_id, body)
        except RetryableFailure as failure:
            raise failure.error from failure.__cause__

    def _attempt(self, msg_id: str, body: bytes) -> ReplyReceipt:
        headers = self._headers(msg_id, body)
        try:
            response = self._client.post(self._url, content=body, headers=headers, timeout=self._timeout)
        except httpx.TransportError as exc:
            raise self._transport_failure(exc) from exc
        return self._interpret(response, msg_id)

    def provide_records(
        self,
        case_id: str,
        in_reply_to: str,
        records: Iterable[TransactionRecord],
        logs: Iterable[LogEntry],
        *,
        chunk_size: int | None = None,
        upload_id: str | None = None,
        state: UploadState | None = None,
        on_progress: Callable[[UploadState], None] | None = None,
    ) -> UploadReceipt:
        """Send transaction records and logs (``records.provided``) in chunks, in order, resumably.

        Each chunk is its own signed, retried reply with its own ``webhook-id``; a chunk the gateway already
        holds is answered 200 and counts as accepted. Records and logs are read twice (see
        ``spotcheck.sdk._chunks``): a re-iterable source is iterated again, a one-shot iterator is spooled
        to an anonymous temporary file; memory holds one chunk at a time.

        Args:
            case_id: the case of the records request.
            in_reply_to: the ``webhook-id`` of the ``records.request`` notice.
            records: the transaction records.
            logs: the log entries.
            chunk_size: records (and logs) per chunk, 1 to 5,000; 1,000 by default, the state's on resume.
            upload_id: the id for the set; a new ``upl_…`` id when omitted (or the state's).
            state: an :class:`UploadState` to fill in and update as chunks are accepted; pass the same
                (or a persisted) state again to resume after a failure without resending accepted chunks.
            on_progress: called with the state after each accepted chunk, e.g. to persist ``state.to_json()``.

        Returns:
            An :class:`UploadReceipt`.

        Raises:
            ValueError: ``chunk_size`` out of range, or ``state`` made for another case, notice or upload.
            ChunkError: the records do not match the state's plan, or changed between the two passes.
            ContractError: a chunk breaks the contract (``path`` names the field); nothing more is sent.
            APIError: the gateway refused a chunk or could not be reached; the state keeps what was accepted.
        """
        state = upload_state(case_id, in_reply_to, chunk_size, upload_id, state)
        sent: list[ReplyReceipt] = []
        with RecordChunks(records, logs, chunk_size=state.chunk_size) as chunks:
            state.adopt(chunks.digests())
            skipped = len(state.accepted)
            for chunk in chunks.chunks(skip=frozenset(state.accepted)):
                sent.append(self._send(chunk_message(self._platform_id, self._now(), state, chunk), None))
                state.accepted.add(chunk.index)
                if on_progress is not None:
                    on_progress(state)
        return self._upload_receipt(state, sent, skipped)


class AsyncGatewayClient(_GatewayCore[Coroutine[Any, Any, ReplyReceipt]]):
    """Sends a platform's replies to a Spotcheck gateway from asyncio (:class:`httpx.AsyncClient`).

    The same calls as :class:`GatewayClient`, awaited. Use with ``async with``, or await :meth:`aclose`.

    Args:
        base_url: as :class:`GatewayClient`.
        platform_id: as :class:`GatewayClient`.
        signing_key: as :class:`GatewayClient`.
        timeout: as :class:`GatewayClient`.
        max_retries: as :class:`GatewayClient`.
        backoff_base: as :class:`GatewayClient`.
        backoff_max: as :class:`GatewayClient`.
        transport: an async httpx transport for the client this object creates (e.g. ``httpx.ASGITransport``).
        http_client: an existing :class:`httpx.AsyncClient` (e.g. Litestar's ``AsyncTestClient``); the caller
            keeps owning and closing it.
        sleep: how to wait between attempts (default :func:`asyncio.sleep`).
        clock: the current Unix time.

    Raises:
        ValueError: as :class:`GatewayClient`.
    """

    def __init__(
        self,
        base_url: str,
        platform_id: str,
        signing_key: str | Sequence[str],
        *,
        timeout: float | httpx.Timeout = 10.0,
        max_retries: int = 5,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            base_url,
            platform_id,
            signing_key,
            timeout=timeout,
            max_retries=max_retries,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
            clock=clock,
        )
        if transport is not None and http_client is not None:
            raise ValueError("give either transport or http_client, not both")
        self._owns_client = http_client is None
        self._client = http_client or httpx.AsyncClient(transport=transport, timeout=self._timeout)
        self._sleep = sleep

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client this object created (a caller's ``http_client`` stays open)."""
        if self._owns_client:
            await self._client.aclose()

    async def _send(self, message: Reply, idempotency_key: str | None) -> ReplyReceipt:
        body = encode_message(message)
        msg_id = idempotency_key or new_message_id()
        try:
            return await self._policy.async_retrying(self._sleep)(self._attempt, msg_id, body)
        except RetryableFailure as failure:
            raise failure.error from failure.__cause__

    async def _attempt(self, msg_id: str, body: bytes) -> ReplyReceipt:
        headers = self._headers(msg_id, body)
        try:
            response = await self._client.post(self._url, content=body, headers=headers, timeout=self._timeout)
        except httpx.TransportError as exc:
            raise self._transport_failure(exc) from exc
        return self._interpret(response, msg_id)

    async def provide_records(
        self,
        case_id: str,
        in_reply_to: str,
        records: Iterable[TransactionRecord],
        logs: Iterable[LogEntry],
        *,
        chunk_size: int | None = None,
        upload_id: str | None = None,
        state: UploadState | None = None,
        on_progress: Callable[[UploadState], None] | None = None,
    ) -> UploadReceipt:
        """Send records and logs in chunks, as :meth:`GatewayClient.provide_records`.

        Reading and hashing the records runs on the event loop's thread, because record sources such as
        database cursors are often bound to the thread that made them; the first pass over a very large set
        therefore holds the loop for as long as it takes to hash it.

        Returns:
            An :class:`UploadReceipt`.

        Raises:
            ValueError: as :meth:`GatewayClient.provide_records`.
            ChunkError: as :meth:`GatewayClient.provide_records`.
            ContractError: as :meth:`GatewayClient.provide_records`.
            APIError: as :meth:`GatewayClient.provide_records`.
        """
        state = upload_state(case_id, in_reply_to, chunk_size, upload_id, state)
        sent: list[ReplyReceipt] = []
        with RecordChunks(records, logs, chunk_size=state.chunk_size) as chunks:
            state.adopt(chunks.digests())
            skipped = len(state.accepted)
            for chunk in chunks.chunks(skip=frozenset(state.accepted)):
                sent.append(await self._send(chunk_message(self._platform_id, self._now(), state, chunk), None))
                state.accepted.add(chunk.index)
                if on_progress is not None:
                    on_progress(state)
        return self._upload_receipt(state, sent, skipped)
