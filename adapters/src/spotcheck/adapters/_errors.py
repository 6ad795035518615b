"""The one exception tree of ``spotcheck-adapters``.

Adapters never raise for a failed delivery: that is a :class:`~spotcheck.adapters.DeliveryOutcome`. What they
raise on purpose is a programming or configuration problem, all under :class:`AdapterError`::

    AdapterError
    ├── AdapterConfigError      a destination's configuration is invalid (names the field and the reason)
    ├── AdapterNotFoundError    no adapter of that name is installed (also a LookupError)
    ├── AdapterLoadError        an adapter is installed but cannot be imported or is not an adapter class
    └── UnsafeEndpointError     an endpoint URL fails the SSRF policy (scheme, userinfo, private address)
        └── EndpointResolutionError  the host name could not be resolved, so its safety is unknown
"""

from __future__ import annotations


class AdapterError(Exception):
    """Root of every error ``spotcheck-adapters`` raises on purpose."""


class AdapterConfigError(AdapterError):
    """A destination's configuration is invalid.

    Attributes:
        adapter: the adapter's registered name (``"webhook"``).
        field: the configuration key at fault, as the operator wrote it (``"timeout_s"``, ``"headers"``).
        reason: why, in words safe to log: a secret value is never repeated.
    """

    def __init__(self, adapter: str, field: str, reason: str) -> None:
        super().__init__(f"{adapter} adapter configuration: `{field}`: {reason}")
        self.adapter = adapter
        self.field = field
        self.reason = reason


class AdapterNotFoundError(AdapterError, LookupError):
    """No adapter is registered under the requested name in the ``spotcheck.adapters`` entry-point group."""


class AdapterLoadError(AdapterError):
    """An adapter's entry point exists but cannot be imported, or does not name an adapter class."""


class UnsafeEndpointError(AdapterError):
    """An endpoint URL is refused by the SSRF policy; ``reason`` says why, without credentials from the URL."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class EndpointResolutionError(UnsafeEndpointError):
    """The endpoint's host name did not resolve; its addresses, and so its safety, are unknown.

    A registration check should refuse it like any unsafe endpoint; a delivery attempt treats it as a transient
    DNS failure and asks for a retry.
    """
