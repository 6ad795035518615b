from __future__ import annotations

import datetime
import email
import email.policy
import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import msgspec
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from spotcheck.adapters import (
    AdapterConfigError,
    AdapterContext,
    SmtpAdapter,
    UrlConfigurable,
    build_email,
    smtp_config_from_url,
)

from .conftest import fixed_clock, free_port, make_message

SENDER = "浙江省市场监督管理局 <noreply@amr.zj.gov.cn>"


@dataclass
class Mailroom:
    """An aiosmtpd handler that records envelopes and refuses what it is told to."""

    envelopes: list[Any] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    data_reply: str = "250 2.0.0 Ok: queued as 4F2A1"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:  # noqa: N802
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.data_reply.startswith("250"):
            self.envelopes.append(envelope)
        return self.data_reply


@dataclass
class Relay:
    mailroom: Mailroom
    port: int
    logins: list[tuple[bytes, bytes]]


def _start(handler: Mailroom, **smtp: Any) -> tuple[Controller, int]:
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **smtp)
    controller.start()
    return controller, port


@pytest.fixture
def relay() -> Iterator[Relay]:
    logins: list[tuple[bytes, bytes]] = []

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        logins.append((data.login, data.password))
        return AuthResult(success=data.password == b"s3cret", handled=False)

    mailroom = Mailroom()
    controller, port = _start(mailroom, authenticator=authenticate, auth_require_tls=False)
    try:
        yield Relay(mailroom, port, logins)
    finally:
        controller.stop()


def config_for(port: int, **overrides: Any) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "from": SENDER,
        "to": ["quality@maker.example.cn", "legal@maker.example.cn"],
        "timeout_s": 5,
        **overrides,
    }


def adapter_for(config: dict[str, Any]) -> SmtpAdapter:
    return SmtpAdapter(config, context=AdapterContext(clock=fixed_clock))


def parse(envelope: Any) -> EmailMessage:
    parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


async def test_delivers_a_chinese_notice_with_the_json_attached(relay: Relay) -> None:
    message = make_message(message_type="result.notice")
    adapter = adapter_for(config_for(relay.port, username="regulator", password="s3cret"))
    outcome = await adapter.deliver(message)
    await adapter.aclose()
    assert outcome.status == "delivered", outcome.error
    assert outcome.error is None
    assert outcome.response_excerpt == "2.0.0 Ok: queued as 4F2A1"
    assert relay.logins == [(b"regulator", b"s3cret")]
    [envelope] = relay.mailroom.envelopes
    assert envelope.mail_from == "noreply@amr.zj.gov.cn"
    assert envelope.rcpt_tos == ["quality@maker.example.cn", "legal@maker.example.cn"]
    mail = parse(envelope)
    assert mail["Subject"] == "【检验结果通知】网络交易商品质量抽检 案件 SC-2023-0001"
    assert mail["Message-ID"] == f"<{message.message_id}@amr.zj.gov.cn>" == outcome.remote_reference
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["X-Spotcheck-Case-Id"] == "SC-2023-0001"
    text_part = mail.get_body(preferencelist=("plain",))
    assert text_part is not None
    text = text_part.get_content()
    assert text.startswith("某某电商平台：")
    assert "案件编号：SC-2023-0001" in text
    assert "发出时间：2023-11-15 06:12:20（北京时间）" in text  # 2023-11-14 22:12:20 UTC
    assert "十五日内" in text  # the re-inspection window of opinion 三(三)
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content_type() == "application/json"
    assert attachment.get_filename() == f"result.notice-{message.message_id}.json"
    assert attachment.get_content() == message.body
    assert msgspec.json.decode(attachment.get_content())["data"]["listing"] == "儿童玩具 A-1"


async def test_retries_reuse_the_message_id(relay: Relay) -> None:
    adapter = adapter_for(config_for(relay.port))
    first = await adapter.deliver(make_message())
    second = await adapter.deliver(make_message(attempt=2))
    assert first.remote_reference == second.remote_reference
    assert [parse(e)["Message-ID"] for e in relay.mailroom.envelopes] == [first.remote_reference] * 2


async def test_wrong_password_is_retried_not_dropped(relay: Relay) -> None:
    outcome = await adapter_for(config_for(relay.port, username="regulator", password="wrong")).deliver(make_message())
    assert outcome.status == "retry"
    assert outcome.error is not None
    assert "535" in outcome.error
    assert "wrong" not in (outcome.error + outcome.response_excerpt)
    assert relay.mailroom.envelopes == []


async def test_every_mailbox_missing_is_gone(relay: Relay) -> None:
    relay.mailroom.refuse = {
        "quality@maker.example.cn": "550 5.1.1 <quality@maker.example.cn>: Recipient address rejected: User unknown",
        "legal@maker.example.cn": "550 5.1.1 No such user",
    }
    outcome = await adapter_for(config_for(relay.port)).deliver(make_message())
    assert outcome.status == "gone"
    assert outcome.error is not None
    assert "every addressee refused" in outcome.error


async def test_policy_refusal_is_rejected_and_temporary_refusal_retried(relay: Relay) -> None:
    relay.mailroom.refuse = {
        "quality@maker.example.cn": "550 5.7.1 Relaying denied",
        "legal@maker.example.cn": "550 5.1.1 No such user",
    }
    assert (await adapter_for(config_for(relay.port)).deliver(make_message())).status == "rejected"
    relay.mailroom.refuse["quality@maker.example.cn"] = "450 4.2.1 Mailbox busy"
    assert (await adapter_for(config_for(relay.port)).deliver(make_message())).status == "retry"


async def test_partial_refusal_is_delivered_and_reported(relay: Relay) -> None:
    relay.mailroom.refuse = {"legal@maker.example.cn": "550 5.1.1 No such user"}
    outcome = await adapter_for(config_for(relay.port)).deliver(make_message())
    assert outcome.status == "delivered"
    assert outcome.error == "refused: legal@maker.example.cn (550)"
    assert relay.mailroom.envelopes[0].rcpt_tos == ["quality@maker.example.cn"]


@pytest.mark.parametrize(
    ("reply", "status"),
    [
        ("554 5.7.1 Message rejected as spam", "rejected"),
        ("552 5.3.4 Message too big", "rejected"),
        ("451 4.3.0 Try again later", "retry"),
        ("421 4.7.0 Too many messages, slow down", "throttled"),
    ],
)
async def test_data_replies(relay: Relay, reply: str, status: str) -> None:
    relay.mailroom.data_reply = reply
    outcome = await adapter_for(config_for(relay.port)).deliver(make_message())
    assert outcome.status == status
    assert outcome.response_excerpt.startswith(reply[:3])


async def test_connection_refused_is_retried() -> None:
    outcome = await adapter_for(config_for(free_port())).deliver(make_message())
    assert outcome.status == "retry"
    assert outcome.error is not None


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "relay.pem", tmp_path / "relay.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


async def test_starttls_with_a_verified_private_ca(tmp_path: Path) -> None:
    cert_path, key_path = _self_signed(tmp_path)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert_path, key_path)
    mailroom = Mailroom()
    controller, port = _start(mailroom, tls_context=server_tls, require_starttls=True)
    try:
        verified = await adapter_for(config_for(port, security="starttls", ca_file=str(cert_path))).deliver(
            make_message()
        )
        untrusted = await adapter_for(config_for(port, security="starttls")).deliver(make_message())
        plain = await adapter_for(config_for(port, security="none")).deliver(make_message())
    finally:
        controller.stop()
    assert verified.status == "delivered", verified.error
    assert len(mailroom.envelopes) == 1
    assert untrusted.status == "retry"  # an unknown CA is the relay's set-up, which the operator fixes
    assert plain.status == "retry"  # the relay demands STARTTLS first (530)


def test_build_email_refuses_header_injection() -> None:
    config = SmtpAdapter.validate_config(config_for(25))
    mail = build_email(make_message(case_id="SC-1\r\nBcc: victim@example.com"), config, now=fixed_clock())
    assert "Bcc" not in mail
    assert "\n" not in str(mail["Subject"])


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"host": ""}, "host"),
        ({"port": 70000}, "port"),
        ({"to": []}, "to"),
        ({"to": ["not-an-address"]}, "to"),
        ({"to": "one@example.cn"}, "to"),
        ({"from": "nobody"}, "from"),
        ({"from": "a@b.cn\r\nBcc: x@y.cn"}, "from"),
        ({"reply_to": "nope"}, "reply_to"),
        ({"security": "ssl"}, "security"),
        ({"username": "u"}, "password"),
        ({"password": "p"}, "username"),
        ({"timeout_s": 0}, "timeout_s"),
        ({"starttls": True}, "starttls"),
    ],
)
def test_config_errors_name_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(AdapterConfigError) as error:
        SmtpAdapter.validate_config({**config_for(25), **overrides})
    assert error.value.field == field


def test_password_is_hidden_and_ports_default_by_security() -> None:
    config = SmtpAdapter.validate_config({**config_for(25, username="u", password="hunter2"), "port": None})
    assert "hunter2" not in repr(config)
    assert config.effective_port == 25
    assert SmtpAdapter.validate_config({**config_for(25), "port": None, "security": "tls"}).effective_port == 465
    assert SmtpAdapter.validate_config({**config_for(25), "port": None, "security": "starttls"}).effective_port == 587


def test_smtp_url_parsing_and_errors() -> None:
    config = smtp_config_from_url("smtp://notice%40amr:p%40ss@mail.example:2525?from=notice@amr.example&security=none")
    assert config == {
        "host": "mail.example",
        "port": 2525,
        "from": "notice@amr.example",
        "security": "none",
        "username": "notice@amr",
        "password": "p@ss",
    }
    with pytest.raises(ValueError, match="from="):
        smtp_config_from_url("smtp://mail.example")
    with pytest.raises(ValueError, match="SPOTCHECK_SMTP_URL"):
        smtp_config_from_url("http://mail.example?from=a@b.c")


def test_smtps_defaults_to_implicit_tls() -> None:
    assert smtp_config_from_url("smtps://relay.example?from=a@b.cn")["security"] == "tls"


def test_the_relay_url_and_a_destination_make_a_valid_configuration() -> None:
    assert issubclass(SmtpAdapter, UrlConfigurable)
    url = "smtp://relay.example:2525?from=noreply@amr.zj.gov.cn&security=none"
    one = SmtpAdapter.config_from_url(url, {"to": "quality@maker.example.cn"})
    assert one["to"] == ["quality@maker.example.cn"]
    assert SmtpAdapter.validate_config(one).effective_port == 2525
    several = SmtpAdapter.config_from_url(
        url, {"to": ["a@maker.example.cn", "b@maker.example.cn"], "reply_to": "x@amr.cn"}
    )
    assert SmtpAdapter.validate_config(several).to == ["a@maker.example.cn", "b@maker.example.cn"]
    assert several["reply_to"] == "x@amr.cn"
    with pytest.raises(AdapterConfigError, match="to"):
        SmtpAdapter.validate_config(SmtpAdapter.config_from_url(url, {}))
