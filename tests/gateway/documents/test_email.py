"""The e-mail of a notice that serves documents carries their signed PDFs, each checked against the notice's digest."""

from __future__ import annotations

import hashlib
from email.message import EmailMessage
from pathlib import Path

import msgspec

from spotcheck.adapters import AdapterContext, OutgoingMessage, SmtpAdapter
from spotcheck.adapters.smtp import build_email, documents_of, read_documents
from spotcheck.gateway.documents.store import document_reader, save_pdf

PDF = "%PDF-1.7\n% 检验结果通知书\n%%EOF\n".encode()
DIGEST = hashlib.sha256(PDF).hexdigest()
NUMBER = "浙市监检结〔2026〕3号"


def _notice(sha256: str = DIGEST) -> OutgoingMessage:
    body = {
        "type": "result.notice",
        "timestamp": "2026-03-02T10:00:00+08:00",
        "data": {
            "case_id": "case_1",
            "documents": [
                {
                    "kind": "result_notice",
                    "number": NUMBER,
                    "sha256": sha256,
                    "media_type": "application/pdf",
                    "url": "https://spotcheck.example.gov.cn/v1/documents/doc_1",
                }
            ],
        },
    }
    return OutgoingMessage(
        message_id="msg_1",
        message_type="result.notice",
        body=msgspec.json.encode(body),
        timestamp=1,
        case_id="case_1",
        recipient_name="佛山某某电器制造有限公司",
        authority="浙江省市场监督管理局",
    )


def _config() -> dict[str, object]:
    return {
        "host": "127.0.0.1",
        "port": 9,
        "security": "none",
        "from": "spotcheck@amr.example.cn",
        "to": ["qa@maker.example.cn"],
    }


async def test_the_pdf_is_read_from_the_document_store_and_attached(tmp_path: Path) -> None:
    await save_pdf(tmp_path, PDF)
    context = AdapterContext(document_reader=document_reader(tmp_path))
    message = _notice()
    assert documents_of(message) == [(NUMBER, DIGEST, "application/pdf")]
    attached = await read_documents(message, context)
    assert attached == [(f"{NUMBER}.pdf", "application/pdf", PDF)]
    mail = build_email(message, SmtpAdapter.validate_config(_config()), now=0, documents=attached)
    parts = [part for part in mail.iter_attachments() if isinstance(part, EmailMessage)]
    assert [part.get_content_type() for part in parts] == ["application/json", "application/pdf"]
    assert parts[1].get_filename() == f"{NUMBER}.pdf"
    assert parts[1].get_content() == PDF


async def test_a_document_that_cannot_be_read_is_retried_not_served_without_it(tmp_path: Path) -> None:
    missing = "0" * 64
    adapter = SmtpAdapter(_config(), context=AdapterContext(document_reader=document_reader(tmp_path)))
    outcome = await adapter.deliver(_notice(missing))
    assert outcome.status == "retry"
    assert outcome.error is not None and NUMBER in outcome.error


async def test_without_a_reader_or_documents_the_mail_is_as_before() -> None:
    plain = OutgoingMessage(message_id="m", message_type="sampling.notice", body=b"{}", timestamp=1, case_id="c")
    assert documents_of(plain) == []
    assert await read_documents(_notice(), AdapterContext()) == []
