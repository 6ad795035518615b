"""Calls a platform's own signed open API, in the style of Taobao TOP, JD and Pinduoduo.

Every request is a form POST of system parameters (``app_key``, ``method``, ``timestamp``, ``v``,
``sign_method``, ``format=json``, optionally ``session``), the message's JSON in one business parameter, and
``sign``. TOP's signing rule: sort every parameter except ``sign`` (and empty values) by name in byte order,
concatenate ``name + value``, then

* ``md5``: upper-case hex MD5 of ``secret + concatenation + secret``;
* ``hmac``: upper-case hex HMAC-MD5 of the concatenation, keyed by the secret (no wrapping);
* ``hmac-sha256``: upper-case hex HMAC-SHA256 likewise.

Which API method receives which message type, which parameter carries the JSON, and how the JSON answer tells
success from failure are configuration; the defaults read TOP-style ``error_response`` answers.
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import math
import time
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal, NamedTuple
from urllib.parse import urlencode

import msgspec

from spotcheck.adapters._base import AdapterContext, DeliveryOutcome, DeliveryStatus, OutgoingMessage
from spotcheck.adapters._config import InvalidField, Secret, check_http_url, parse_config
from spotcheck.adapters._http import (
    ClientHolder,
    HttpAnswer,
    elapsed_ms,
    outcome_for_exception,
    post_bounded,
    safe_text,
)
from spotcheck.adapters._notice_text import format_china_time

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["OpenPlatformAdapter", "OpenPlatformConfig", "OpenPlatformResponseRules", "top_signature"]

SignMethod = Literal["md5", "hmac", "hmac-sha256"]
MessageField = Literal["message_id", "case_id", "message_type", "attempt", "timestamp"]

SYSTEM_PARAMETERS: Final = ("app_key", "method", "timestamp", "v", "sign_method", "format", "session", "sign")
# Without these the platform cannot authenticate or route the call, so they cannot be switched off.
_REQUIRED_PARAMETERS: Final = frozenset({"app_key", "method", "timestamp", "sign"})
MAX_TIMEOUT_S: Final = 300.0
_MAX_ERROR_CHARS: Final = 240
_FORM_HEADERS: Final = {"content-type": "application/x-www-form-urlencoded;charset=utf-8", "accept": "application/json"}


def top_signature(params: Mapping[str, str], secret: str, sign_method: SignMethod) -> str:
    """Sign TOP-style request parameters; ``sign`` itself and empty values are left out.

    Returns:
        The upper-case hex digest.
    """
    joined = "".join(f"{key}{params[key]}" for key in sorted(params) if key != "sign" and key and params[key])
    key = secret.encode()
    if sign_method == "md5":
        digest = hashlib.md5(key + joined.encode() + key, usedforsecurity=False).digest()
    elif sign_method == "hmac":
        digest = hmac.new(key, joined.encode(), hashlib.md5).digest()
    elif sign_method == "hmac-sha256":
        digest = hmac.new(key, joined.encode(), hashlib.sha256).digest()
    else:
        raise ValueError(f"unknown sign_method {sign_method!r}")
    return digest.hex().upper()


def _check_patterns(field: str, patterns: Sequence[str]) -> None:
    if any(not pattern for pattern in patterns):
        raise InvalidField(field, "patterns must not be empty strings")


class OpenPlatformResponseRules(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How to read a 2xx JSON answer. Codes are matched as text against ``fnmatch`` patterns.

    Attributes:
        error_key: a top-level key whose presence means failure (TOP, JD and PDD all use ``error_response``).
        code_keys: keys of the error object holding codes, most specific first; the first code matching any
            pattern list decides.
        message_keys: keys of the error object holding a human-readable reason, first present wins.
        code_path: for APIs that always answer with a status code: a dotted path to it (``"result.code"``);
            a value outside ``success_codes`` is a failure with that code.
        success_codes: the values at ``code_path`` meaning success (booleans read as ``true``/``false``).
        throttle_codes: codes meaning "call less often" → ``throttled`` (TOP 4-8: call limits).
        retry_codes: codes meaning a platform-side fault → ``retry`` (TOP 10, 15 and ``isp.*``).
        rejected_codes: codes meaning our request is at fault → ``rejected`` (TOP ``isv.*``). A code matching
            no list is also ``rejected``: a business refusal does not change by itself.
        request_id_key: the key of the platform's request id, looked up at top level and one level down.
    """

    error_key: str = "error_response"
    code_keys: tuple[str, ...] = ("sub_code", "code", "error_code")
    message_keys: tuple[str, ...] = ("sub_msg", "msg", "error_msg", "zh_desc", "message")
    code_path: str | None = None
    success_codes: tuple[str, ...] = ("0",)
    throttle_codes: tuple[str, ...] = ("4", "5", "6", "7", "8", "accesscontrol.*")
    retry_codes: tuple[str, ...] = ("10", "15", "isp.*")
    rejected_codes: tuple[str, ...] = ("isv.*",)
    request_id_key: str = "request_id"

    def __post_init__(self) -> None:
        if not self.error_key:
            raise InvalidField("response.error_key", "must not be empty")
        if self.code_path is not None and (not self.code_path or "" in self.code_path.split(".")):
            raise InvalidField("response.code_path", "must be a dotted path of keys such as `result.code`")
        if self.code_path is not None and not self.success_codes:
            raise InvalidField("response.success_codes", "must list at least one code when `code_path` is set")
        for name in ("throttle_codes", "retry_codes", "rejected_codes"):
            _check_patterns(f"response.{name}", getattr(self, name))

    def verdict(self, codes: Sequence[str]) -> DeliveryStatus:
        """The status for an error carrying ``codes`` (most specific first)."""
        tables: tuple[tuple[DeliveryStatus, tuple[str, ...]], ...] = (
            ("throttled", self.throttle_codes),
            ("retry", self.retry_codes),
            ("rejected", self.rejected_codes),
        )
        for code in codes:
            for status, patterns in tables:
                if any(fnmatch.fnmatchcase(code, pattern) for pattern in patterns):
                    return status
        return "rejected"


class OpenPlatformConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Configuration of one platform open-API destination.

    Attributes:
        url: the API gateway, e.g. ``https://eco.taobao.com/router/rest``.
        app_key: the regulator's application key on the platform.
        app_secret: the application secret (signs every call).
        methods: message type → API method name; a message type without a method is ``rejected``.
        session: an access token (TOP ``session``, JD/PDD ``access_token``: rename with ``param_names``).
        sign_method: ``md5``, ``hmac`` (HMAC-MD5) or ``hmac-sha256``.
        version: the ``v`` parameter.
        payload_param: the business parameter that carries the message's JSON body.
        message_params: extra business parameters filled from the message, e.g. ``{"out_request_id":
            "message_id"}`` for the platform's idempotency.
        extra_params: constant extra parameters (signed like the rest).
        param_names: renames of system parameters, e.g. ``{"app_key": "client_id", "method": "type"}`` for PDD;
            an empty name leaves an optional one (``v``, ``sign_method``, ``format``, ``session``) out.
        timestamp_format: ``datetime`` (``YYYY-MM-DD HH:MM:SS`` Asia/Shanghai), ``unix`` or ``unix_ms``.
        timeout_s: the whole attempt's budget in seconds.
        max_response_bytes: a larger answer is not parsed (the outcome is ``retry``).
        response: how to read the answer; see :class:`OpenPlatformResponseRules`.
    """

    url: str
    app_key: str
    app_secret: Secret
    methods: dict[str, str]
    session: Secret | None = None
    sign_method: SignMethod = "md5"
    version: str = "2.0"
    payload_param: str = "param_json"
    message_params: dict[str, MessageField] = {}
    extra_params: dict[str, str] = {}
    param_names: dict[str, str] = {}
    timestamp_format: Literal["datetime", "unix", "unix_ms"] = "datetime"
    timeout_s: float = 10.0
    max_response_bytes: int = 1_048_576
    response: OpenPlatformResponseRules = msgspec.field(default_factory=OpenPlatformResponseRules)

    def __post_init__(self) -> None:
        check_http_url(self.url)
        if not self.app_key:
            raise InvalidField("app_key", "must not be empty")
        if not self.methods:
            raise InvalidField("methods", "map at least one message type to an API method")
        for message_type, method in self.methods.items():
            if not message_type or not method:
                raise InvalidField("methods", "message types and method names must not be empty")
        for name, renamed in self.param_names.items():
            if name not in SYSTEM_PARAMETERS:
                known = ", ".join(SYSTEM_PARAMETERS)
                raise InvalidField("param_names", f"{name!r} is not a system parameter ({known})")
            if not renamed and name in _REQUIRED_PARAMETERS:
                raise InvalidField("param_names", f"{name!r} is required and cannot be left out")
        if not self.payload_param:
            raise InvalidField("payload_param", "must not be empty")
        self._check_collisions()
        if not (math.isfinite(self.timeout_s) and 0 < self.timeout_s <= MAX_TIMEOUT_S):
            raise InvalidField("timeout_s", f"must be more than 0 and at most {MAX_TIMEOUT_S:g} seconds")
        if not 1024 <= self.max_response_bytes <= 64 * 1_048_576:  # noqa: PLR2004 - 1 KiB to 64 MiB
            raise InvalidField("max_response_bytes", "must be between 1024 and 67108864")

    def _check_collisions(self) -> None:
        taken = {self.parameter(name) for name in SYSTEM_PARAMETERS} - {""}
        for field, names in (
            ("payload_param", [self.payload_param]),
            ("message_params", list(self.message_params)),
            ("extra_params", list(self.extra_params)),
        ):
            for name in names:
                if not name:
                    raise InvalidField(field, "parameter names must not be empty")
                if name in taken:
                    raise InvalidField(field, f"parameter {name!r} is already used")
                taken.add(name)

    def parameter(self, system_name: str) -> str:
        """The wire name of a system parameter (``""`` when it is left out)."""
        return self.param_names.get(system_name, system_name)


class OpenPlatformAdapter:
    """Delivers a message by calling the platform's signed open API once, and classifies the answer.

    HTTP statuses classify as for webhooks (:func:`spotcheck.adapters.classify_http_status`). A 2xx answer is
    read as JSON: an ``error_response`` (or a ``code_path`` value outside ``success_codes``) is ``throttled``,
    ``retry`` or ``rejected`` by its codes; an answer that is not a JSON object is ``retry``; anything else is
    ``delivered``, with the platform's ``request_id`` as the remote reference.
    """

    name: ClassVar[str] = "open-platform"

    @classmethod
    def validate_config(cls, config: Mapping[str, Any]) -> OpenPlatformConfig:
        """Parse and check ``config``.

        Raises:
            AdapterConfigError: names the field and the reason.
        """
        return parse_config(cls.name, config, OpenPlatformConfig)

    def __init__(self, config: Mapping[str, Any], *, context: AdapterContext) -> None:
        self._config = self.validate_config(config)
        self._context = context
        self._http = ClientHolder(context)

    @property
    def config(self) -> OpenPlatformConfig:
        """The validated configuration (secrets stay hidden in its ``repr``)."""
        return self._config

    def build_params(self, message: OutgoingMessage, *, now: float) -> dict[str, str]:
        """The signed form parameters for ``message`` at time ``now`` (Unix seconds).

        Raises:
            LookupError: no API method is configured for the message type.
            UnicodeDecodeError: the body is not UTF-8.
        """
        config = self._config
        method = config.methods.get(message.message_type)
        if method is None:
            raise LookupError(f"no API method is configured for message type {message.message_type!r}")
        if config.timestamp_format == "datetime":
            stamp = format_china_time(now)
        elif config.timestamp_format == "unix":
            stamp = str(int(now))
        else:
            stamp = str(int(now * 1000))
        system = {
            "app_key": config.app_key,
            "method": method,
            "timestamp": stamp,
            "v": config.version,
            "sign_method": config.sign_method,
            "format": "json",
            "session": config.session.reveal() if config.session is not None else "",
        }
        params = {config.parameter(name): value for name, value in system.items() if config.parameter(name) and value}
        params.update(config.extra_params)
        params.update({name: str(getattr(message, source)) for name, source in config.message_params.items()})
        params[config.payload_param] = message.body.decode("utf-8")
        params[config.parameter("sign")] = top_signature(params, config.app_secret.reveal(), config.sign_method)
        return params

    async def deliver(self, message: OutgoingMessage) -> DeliveryOutcome:
        """Call the API once and classify the result; never raises for a failed delivery."""
        started = time.perf_counter()
        try:
            params = self.build_params(message, now=self._context.clock())
        except (LookupError, UnicodeDecodeError) as exc:
            return DeliveryOutcome(status="rejected", latency_ms=elapsed_ms(started), error=str(exc)[:_MAX_ERROR_CHARS])
        timeout_s = self._config.timeout_s
        try:
            await self._http.check(self._config.url)
            answer = await post_bounded(
                self._http.get(),
                self._config.url,
                content=urlencode(params).encode("ascii"),
                headers=_FORM_HEADERS,
                timeout_s=timeout_s,
                max_body=self._config.max_response_bytes,
            )
        except Exception as exc:  # noqa: BLE001 - by contract every failure to deliver becomes an outcome
            return outcome_for_exception(exc, latency_ms=elapsed_ms(started), timeout_s=timeout_s)
        return self._read(answer, latency_ms=elapsed_ms(started))

    def _read(self, answer: HttpAnswer, *, latency_ms: float) -> DeliveryOutcome:
        outcome = answer.outcome(latency_ms=latency_ms, now=self._context.clock())
        if outcome.status != "delivered":
            return outcome
        if answer.truncated:
            return msgspec.structs.replace(
                outcome, status="retry", error=f"answer longer than {self._config.max_response_bytes} bytes"
            )
        try:
            document = msgspec.json.decode(answer.body)
        except msgspec.DecodeError:
            return msgspec.structs.replace(outcome, status="retry", error="the answer is not JSON")
        if not isinstance(document, dict):
            return msgspec.structs.replace(outcome, status="retry", error="the answer is not a JSON object")
        rules = self._config.response
        reference = _request_id(document, rules.request_id_key) or outcome.remote_reference
        failure = _failure(document, rules)
        if failure is None:
            return msgspec.structs.replace(outcome, remote_reference=reference)
        codes, reason, unreadable = failure
        return msgspec.structs.replace(
            outcome,
            status="retry" if unreadable else rules.verdict(codes),
            remote_reference=reference,
            error=safe_text(f"platform error {'/'.join(codes) or '?'}: {reason}".encode(), limit=_MAX_ERROR_CHARS),
        )

    async def aclose(self) -> None:
        """Close the HTTP client if this adapter built it."""
        await self._http.aclose()


def _as_code(value: object) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


class _Failure(NamedTuple):
    codes: list[str]
    reason: str
    unreadable: bool = False


def _failure(document: dict[str, Any], rules: OpenPlatformResponseRules) -> _Failure | None:
    """The error's codes and reason, or ``None`` when the answer reports success."""
    error = document.get(rules.error_key)
    if error is not None:
        return _Failure(*_codes_and_reason(error, rules))
    if rules.code_path is None:
        return None
    holder: object = document
    parent: object = document
    for key in rules.code_path.split("."):
        parent = holder
        holder = holder.get(key) if isinstance(holder, dict) else None
    code = _as_code(holder)
    if code is None:
        return _Failure([], f"the answer has no `{rules.code_path}`", unreadable=True)
    if code in rules.success_codes:
        return None
    # The status code decides first; the reason (and any sub-code) sits beside it.
    other_codes, reason = _codes_and_reason(parent, rules)
    return _Failure(list(dict.fromkeys([code, *other_codes])), reason)


def _codes_and_reason(error: object, rules: OpenPlatformResponseRules) -> tuple[list[str], str]:
    if not isinstance(error, dict):
        return [], "error without details"
    codes = [code for key in rules.code_keys if (code := _as_code(error.get(key))) is not None]
    reason = next((str(error[key]) for key in rules.message_keys if error.get(key)), "no reason given")
    return list(dict.fromkeys(codes)), reason


def _request_id(document: dict[str, Any], key: str) -> str | None:
    candidates = [document, *(value for value in document.values() if isinstance(value, dict))]
    for candidate in candidates:
        value = candidate.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return safe_text(str(value).encode(), limit=200)
    return None
