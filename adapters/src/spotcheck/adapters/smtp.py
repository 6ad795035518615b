"""E-mail for manufacturers and merchants without an integration: a Chinese plain-text notice, JSON attached.

A notice that serves documents (``data.documents``) also carries each signed PDF as an attachment, read through
the context's ``document_reader`` and checked against the digest the notice names; a PDF that cannot be read is
retried later rather than served without it.

The relay (``host``) is the regulator's own mail server, configured by the regulator, so it is not subject to
the SSRF guard: internal relays are the norm. The addressees are the destination.
"""

from __future__ import annotations

import asyncio
import email.policy
import email.utils
import hashlib
import math
import re
import ssl
import time
from datetime import datetime
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
import msgspec

from spotcheck.adapters._base import AdapterContext, DeliveryOutcome, DeliveryStatus, OutgoingMessage
from spotcheck.adapters._config import InvalidField, Secret, parse_config
from spotcheck.adapters._http import elapsed_ms, safe_text, short_error
from spotcheck.adapters._notice_text import CHINA_STANDARD_TIME, email_subject, email_text

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "DocumentUnavailableError",
    "SmtpAdapter",
    "SmtpConfig",
    "build_email",
    "documents_of",
    "read_documents",
    "smtp_config_from_url",
]

Security = Literal["starttls", "tls", "none"]

MAX_TIMEOUT_S: Final = 300.0
MAX_RECIPIENTS: Final = 50
_DEFAULT_PORTS: Final[dict[str, int]] = {"starttls": 587, "tls": 465, "none": 25}
# RFC 5322 dot-atom characters: a message id made of them can sit in a Message-ID unchanged.
_DOT_ATOM: Final = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_FILENAME_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._-]+")
# Enhanced status codes (RFC 3463) saying the mailbox or its domain does not exist: the address is gone.
_NO_SUCH_MAILBOX: Final = re.compile(r"\b5\.1\.(?:1|2|3|10)\b")
_SERVICE_UNAVAILABLE: Final = 421
_EXCEEDED_STORAGE: Final = 552


def _address(value: str, field: str) -> str:
    """Check one address (optionally with a display name) and return the bare ``local@domain``."""
    if any(char in value for char in "\r\n\0"):
        raise InvalidField(field, "an address must be on one line")
    _, address = email.utils.parseaddr(value)
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or " " in address or "." not in domain.strip("."):
        raise InvalidField(field, f"{value!r} is not an e-mail address")
    return address


class SmtpConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Configuration of one e-mail destination.

    Attributes:
        host: the SMTP relay.
        to: the addressees (1 to 50); refused addresses are reported, accepted ones are not re-sent.
        sender: the ``From`` address, written ``from`` in the configuration; may carry a display name.
        port: defaults to 587 (``starttls``), 465 (``tls``) or 25 (``none``).
        security: ``starttls`` (required upgrade), ``tls`` (implicit TLS) or ``none`` (development only).
        username: log in with this name (``password`` required with it).
        password: the relay password.
        timeout_s: the whole attempt's budget in seconds.
        validate_certs: verify the relay's certificate (turn off only for tests).
        ca_file: a PEM bundle of CAs to trust for the relay, e.g. an internal CA.
        local_hostname: the name sent in EHLO.
        reply_to: a ``Reply-To`` address.
    """

    host: str
    to: list[str]
    sender: str = msgspec.field(name="from")
    port: int | None = None
    security: Security = "starttls"
    username: str | None = None
    password: Secret | None = None
    timeout_s: float = 30.0
    validate_certs: bool = True
    ca_file: str | None = None
    local_hostname: str | None = None
    reply_to: str | None = None

    def __post_init__(self) -> None:
        if not self.host or any(char.isspace() for char in self.host):
            raise InvalidField("host", "must be a host name or address")
        if self.port is not None and not 0 < self.port < 65536:  # noqa: PLR2004
            raise InvalidField("port", "must be between 1 and 65535")
        if not 0 < len(self.to) <= MAX_RECIPIENTS:
            raise InvalidField("to", f"list 1 to {MAX_RECIPIENTS} addresses")
        for value in self.to:
            _address(value, "to")
        _address(self.sender, "from")
        if self.reply_to is not None:
            _address(self.reply_to, "reply_to")
        if (self.username is None) != (self.password is None):
            raise InvalidField("password" if self.username else "username", "give `username` and `password` together")
        if not (math.isfinite(self.timeout_s) and 0 < self.timeout_s <= MAX_TIMEOUT_S):
            raise InvalidField("timeout_s", f"must be more than 0 and at most {MAX_TIMEOUT_S:g} seconds")

    @property
    def effective_port(self) -> int:
        """The port to connect to."""
        return self.port or _DEFAULT_PORTS[self.security]


def smtp_config_from_url(url: str) -> dict[str, Any]:
    """The relay part of an :class:`SmtpConfig` from ``smtp[s]://user:password@host:port?security=…&from=addr``.

    The gateway reads this URL from ``SPOTCHECK_SMTP_URL``. User and password are percent-decoded; ``security``
    defaults to ``tls`` for ``smtps://`` and ``starttls`` for ``smtp://``; ``from`` (the sender) is required.

    Raises:
        ValueError: the URL is not of that form; the message names ``SPOTCHECK_SMTP_URL`` and what is missing.
    """
    parts = urlsplit(url)
    if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
        raise ValueError("SPOTCHECK_SMTP_URL: expected smtp://[user:password@]host[:port]?from=address")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    sender = query.get("from")
    if not sender:
        raise ValueError("SPOTCHECK_SMTP_URL: the from= query parameter (sender address) is required")
    config: dict[str, Any] = {
        "host": parts.hostname,
        "from": sender,
        "security": query.get("security", "tls" if parts.scheme == "smtps" else "starttls"),
    }
    if parts.port:
        config["port"] = parts.port
    if parts.username:
        config["username"] = unquote(parts.username)
    if parts.password:
        config["password"] = unquote(parts.password)
    return config


def _message_id(message: OutgoingMessage, sender: str) -> str:
    """A Message-ID stable across attempts, so mail clients and archives can spot a re-sent notice."""
    token = message.message_id if _DOT_ATOM.fullmatch(message.message_id) else None
    token = token or hashlib.sha256(message.message_id.encode()).hexdigest()[:32]
    domain = sender.rpartition("@")[2]
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        domain = "spotcheck.invalid"
    return f"<{token}@{domain}>"


def _one_line(text: str) -> str:
    return " ".join(text.split())


class DocumentUnavailableError(ValueError):
    """A document the notice serves cannot be read, or is not the bytes the notice names."""


class _DocumentRef(msgspec.Struct):
    number: str
    sha256: str
    media_type: str = "application/pdf"


class _NoticeData(msgspec.Struct):
    documents: list[_DocumentRef] = []


class _Notice(msgspec.Struct):
    data: _NoticeData = msgspec.field(default_factory=_NoticeData)


_NOTICE_DECODER: Final = msgspec.json.Decoder(_Notice)


def documents_of(message: OutgoingMessage) -> list[tuple[str, str, str]]:
    """The documents a notice serves: ``(文号, sha256, media type)`` each; none for a body without them."""
    try:
        notice = _NOTICE_DECODER.decode(message.body)
    except msgspec.DecodeError:
        return []
    return [(ref.number, ref.sha256, ref.media_type) for ref in notice.data.documents]


async def read_documents(message: OutgoingMessage, context: AdapterContext) -> list[tuple[str, str, bytes]]:
    """Each served document as ``(file name, media type, bytes)``, its bytes checked against the notice's digest.

    Raises:
        DocumentUnavailableError: a document cannot be read or is not the bytes the notice names.
    """
    reader = context.document_reader
    if reader is None:
        return []
    attached = []
    for number, sha256, media_type in documents_of(message):
        try:
            content = await reader(sha256)
        except Exception as exc:
            raise DocumentUnavailableError(f"document {number} cannot be read: {type(exc).__name__}") from exc
        if hashlib.sha256(content).hexdigest() != sha256:
            raise DocumentUnavailableError(f"document {number} is not the bytes the notice names")
        attached.append((f"{number}.pdf", media_type, content))
    return attached


def build_email(
    message: OutgoingMessage,
    config: SmtpConfig,
    *,
    now: float,
    documents: Sequence[tuple[str, str, bytes]] = (),
) -> EmailMessage:
    """The notice e-mail: Chinese plain text (UTF-8) with the exact JSON body and the documents' PDFs attached.

    Raises:
        ValueError: a header cannot be formed from the message's fields.
    """
    filename = _FILENAME_UNSAFE.sub("_", f"{message.message_type}-{message.message_id}")[:120] + ".json"
    mail = EmailMessage(policy=email.policy.SMTP)
    mail["Subject"] = _one_line(email_subject(message))
    mail["From"] = config.sender
    mail["To"] = ", ".join(config.to)
    if config.reply_to is not None:
        mail["Reply-To"] = config.reply_to
    mail["Date"] = email.utils.format_datetime(datetime.fromtimestamp(now, CHINA_STANDARD_TIME))
    mail["Message-ID"] = _message_id(message, _address(config.sender, "from"))
    # RFC 3834: tells auto-responders not to answer a machine-sent notice.
    mail["Auto-Submitted"] = "auto-generated"
    mail["X-Spotcheck-Message-Id"] = _one_line(message.message_id)
    mail["X-Spotcheck-Case-Id"] = _one_line(message.case_id)
    mail.set_content(email_text(message, attachment=filename), charset="utf-8")
    mail.add_attachment(message.body, maintype="application", subtype="json", filename=filename)
    for name, media_type, content in documents:
        maintype, _, subtype = media_type.partition("/")
        mail.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return mail


def _reply_status(code: int, text: str, *, stage: str) -> DeliveryStatus:
    """Classify an SMTP reply that ended the attempt.

    421 is ``throttled``; other 4xx ``retry``; 5xx at DATA (content refused) ``rejected``; 5xx "no such
    mailbox" ``gone``; 552 at MAIL FROM (too large) ``rejected``; other 5xx (login, sender policy, TLS set-up:
    the relay's configuration, which the operator can fix) ``retry``.
    """
    if code == _SERVICE_UNAVAILABLE:
        return "throttled"
    if code < 500:  # noqa: PLR2004 - transient class
        return "retry"
    if stage == "recipient":
        return "gone" if _NO_SUCH_MAILBOX.search(text) else "rejected"
    if stage == "data" or code == _EXCEEDED_STORAGE:
        return "rejected"
    return "retry"


def _all_refused(exc: aiosmtplib.SMTPRecipientsRefused, *, latency_ms: float) -> DeliveryOutcome:
    verdicts = [_reply_status(item.code, item.message, stage="recipient") for item in exc.recipients]
    status: DeliveryStatus
    if "throttled" in verdicts:
        status = "throttled"
    elif "retry" in verdicts:
        status = "retry"
    elif all(verdict == "gone" for verdict in verdicts):
        status = "gone"
    else:
        status = "rejected"
    details = "; ".join(f"{item.recipient} ({item.code} {item.message})" for item in exc.recipients)
    return DeliveryOutcome(
        status=status,
        latency_ms=latency_ms,
        response_excerpt=safe_text(details.encode()),
        error=safe_text(f"every addressee refused: {details}".encode(), limit=240),
    )


class SmtpAdapter:
    """Delivers a message as an e-mail through the configured relay, once, and classifies the result.

    All addressees refused: ``gone`` if every refusal says the mailbox does not exist, else by the replies'
    class. Some refused: ``delivered`` (the others have it; re-sending would duplicate it) with the refusals in
    ``error``. Connection, TLS and timeout failures are ``retry``. The remote reference is the Message-ID.
    """

    name: ClassVar[str] = "smtp"

    @classmethod
    def validate_config(cls, config: Mapping[str, Any]) -> SmtpConfig:
        """Parse and check ``config``.

        Raises:
            AdapterConfigError: names the field and the reason.
        """
        return parse_config(cls.name, config, SmtpConfig)

    @classmethod
    def config_from_url(cls, url: str, destination: Mapping[str, Any]) -> dict[str, Any]:
        """The configuration to mail ``destination`` through the relay at ``url`` (see :func:`smtp_config_from_url`).

        ``destination["to"]`` is one address or a list of them; other destination fields (``reply_to``) pass
        through. The result is checked when the adapter is built.

        Raises:
            ValueError: ``url`` is malformed.
        """
        addressees = destination.get("to")
        config = {**smtp_config_from_url(url), **destination}
        if isinstance(addressees, str):
            config["to"] = [addressees]
        return config

    def __init__(self, config: Mapping[str, Any], *, context: AdapterContext) -> None:
        self._config = self.validate_config(config)
        self._context = context

    @property
    def config(self) -> SmtpConfig:
        """The validated configuration (the password stays hidden in its ``repr``)."""
        return self._config

    async def deliver(self, message: OutgoingMessage) -> DeliveryOutcome:
        """Send the e-mail once and classify the result; never raises for a failed delivery."""
        started = time.perf_counter()
        config = self._config
        try:
            documents = await read_documents(message, self._context)
            mail = build_email(message, config, now=self._context.clock(), documents=documents)
        except ValueError as exc:
            # A document not readable yet may be later (a store catching up): retried, never sent without it.
            unavailable = isinstance(exc, DocumentUnavailableError)
            error = str(exc)[:240] if unavailable else f"cannot build the e-mail: {exc}"
            return DeliveryOutcome(
                status="retry" if unavailable else "rejected", latency_ms=elapsed_ms(started), error=error
            )
        reference = str(mail["Message-ID"])
        try:
            async with asyncio.timeout(config.timeout_s):
                refused, reply = await aiosmtplib.send(
                    mail,
                    sender=_address(config.sender, "from"),
                    recipients=[_address(value, "to") for value in config.to],
                    hostname=config.host,
                    port=config.effective_port,
                    username=config.username,
                    password=config.password.reveal() if config.password is not None else None,
                    use_tls=config.security == "tls",
                    start_tls=config.security == "starttls",
                    validate_certs=config.validate_certs,
                    cert_bundle=config.ca_file,
                    local_hostname=config.local_hostname,
                    timeout=config.timeout_s,
                )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            return _all_refused(exc, latency_ms=elapsed_ms(started))
        except aiosmtplib.SMTPResponseException as exc:
            stage = "data" if isinstance(exc, aiosmtplib.SMTPDataError) else "session"
            return DeliveryOutcome(
                status=_reply_status(exc.code, exc.message, stage=stage),
                latency_ms=elapsed_ms(started),
                response_excerpt=safe_text(f"{exc.code} {exc.message}".encode()),
                error=f"SMTP {exc.code} ({type(exc).__name__})",
            )
        except TimeoutError:
            error = f"no complete exchange within {config.timeout_s:g} s"
            return DeliveryOutcome(status="retry", latency_ms=elapsed_ms(started), error=error)
        except (aiosmtplib.SMTPException, OSError, ssl.SSLError) as exc:
            return DeliveryOutcome(status="retry", latency_ms=elapsed_ms(started), error=short_error(exc))
        refusals = "; ".join(f"{rcpt} ({answer.code})" for rcpt, answer in refused.items())
        return DeliveryOutcome(
            status="delivered",
            latency_ms=elapsed_ms(started),
            response_excerpt=safe_text(reply.encode()),
            remote_reference=reference,
            error=safe_text(f"refused: {refusals}".encode(), limit=240) if refusals else None,
        )

    async def aclose(self) -> None:
        """Nothing to release: each delivery opens and closes its own SMTP session."""
