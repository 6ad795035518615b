from __future__ import annotations

import types

import msgspec
import pytest

import spotcheck.adapters
from spotcheck.adapters import (
    AdapterConfigError,
    AdapterError,
    AdapterLoadError,
    AdapterNotFoundError,
    DeliveryOutcome,
    EndpointResolutionError,
    OutgoingMessage,
    Secret,
    UnsafeEndpointError,
)
from spotcheck.adapters._http import short_error

from .conftest import make_message


def test_all_is_exactly_the_public_surface() -> None:
    public = {
        name
        for name, value in vars(spotcheck.adapters).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert set(spotcheck.adapters.__all__) == public
    assert sorted(spotcheck.adapters.__all__) == sorted(set(spotcheck.adapters.__all__))


def test_exception_tree() -> None:
    for error in (AdapterConfigError, AdapterNotFoundError, AdapterLoadError, UnsafeEndpointError):
        assert issubclass(error, AdapterError)
    assert issubclass(EndpointResolutionError, UnsafeEndpointError)
    config_error = AdapterConfigError("smtp", "port", "must be between 1 and 65535")
    assert str(config_error) == "smtp adapter configuration: `port`: must be between 1 and 65535"


def test_outcome_refuses_unknown_statuses_and_round_trips() -> None:
    with pytest.raises(ValueError, match="status must be one of"):
        DeliveryOutcome(status="lost")  # type: ignore[arg-type]
    outcome = DeliveryOutcome(status="throttled", http_status=429, retry_after=3.0, latency_ms=1.5)
    assert not outcome.delivered
    assert msgspec.json.decode(msgspec.json.encode(outcome), type=DeliveryOutcome) == outcome
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"status": "lost"}', type=DeliveryOutcome)


def test_message_round_trips_through_storage() -> None:
    message = make_message()
    assert msgspec.msgpack.decode(msgspec.msgpack.encode(message), type=OutgoingMessage) == message
    with pytest.raises(AttributeError):
        message.attempt = 2  # type: ignore[misc]


def test_secret_never_shows() -> None:
    secret = Secret("hunter2")
    assert "hunter2" not in repr(secret)
    assert "hunter2" not in str(secret)
    assert "hunter2" not in f"{secret}"
    assert secret.reveal() == "hunter2"
    assert secret == Secret("hunter2")
    assert secret != Secret("hunter3")
    with pytest.raises(TypeError):
        Secret(5)  # type: ignore[arg-type]


def test_short_error_masks_urls_and_names_the_root_cause() -> None:
    try:
        try:
            raise ConnectionResetError(104, "Connection reset by peer")
        except ConnectionResetError as inner:
            raise RuntimeError("POST https://p.example/hook?token=abc123 failed\nsecond line") from inner
    except RuntimeError as outer:
        text = short_error(outer)
    assert text == "ConnectionResetError: [Errno 104] Connection reset by peer (reported as RuntimeError)"
    assert short_error(ValueError("see https://p.example/x?token=abc123")) == "ValueError: see <url>"
