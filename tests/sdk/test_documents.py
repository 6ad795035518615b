"""fetch_document: a signed GET for a notice's document; the bytes only when they are the digest it carried."""

from __future__ import annotations

import hashlib

import httpx
import msgspec
import pytest

import spotcheck.sdk
from spotcheck.schemas import DocumentRef
from spotcheck.sdk import (
    AuthenticationError,
    InvalidRequestError,
    VerificationError,
    Webhook,
    fetch_document,
    fetch_document_async,
    generate_keypair,
)

PDF = b"%PDF-1.7\n% a signed document\n%%EOF\n"
SECRET, PUBLIC = generate_keypair()
PATH = "/v1/platforms/tmall-test/documents/doc_01"


def _ref(content: bytes = PDF) -> DocumentRef:
    return DocumentRef(
        kind="result_notice",
        number="浙市监检结〔2026〕3号",
        sha256=hashlib.sha256(content).hexdigest(),
        media_type="application/pdf",
        url=f"https://spotcheck.example.gov.cn{PATH}",
    )


def _gateway(served: bytes) -> httpx.MockTransport:
    """A gateway that verifies the request as the real one does (the platform's reply key over GET {path})."""
    verifier = Webhook(PUBLIC)

    def handle(request: httpx.Request) -> httpx.Response:
        try:
            verifier.verify(f"GET {request.url.path}".encode(), request.headers)
        except VerificationError:
            return httpx.Response(401, json={"type": "urn:spotcheck:problem:bad-signature", "detail": "signature"})
        if request.url.path != PATH:
            return httpx.Response(404, json={"type": "urn:spotcheck:problem:not-found", "detail": "no such document"})
        return httpx.Response(200, content=served, headers={"content-type": "application/pdf"})

    return httpx.MockTransport(handle)


def test_the_sdk_exports_it_next_to_the_reply_client() -> None:
    assert {"fetch_document", "fetch_document_async", "document_request_headers"} <= set(spotcheck.sdk.__all__)


def test_a_signed_fetch_returns_the_bytes_whose_digest_the_notice_carried() -> None:
    with httpx.Client(transport=_gateway(PDF)) as client:
        assert fetch_document(_ref(), signing_key=SECRET, http_client=client) == PDF


def test_bytes_that_are_not_the_notices_digest_are_refused() -> None:
    with httpx.Client(transport=_gateway(PDF + b"changed")) as client, pytest.raises(VerificationError) as caught:
        fetch_document(_ref(), signing_key=SECRET, http_client=client)
    assert "浙市监检结〔2026〕3号" in caught.value.reason


def test_a_wrong_key_is_an_authentication_error_and_an_unknown_document_an_invalid_request() -> None:
    other, _ = generate_keypair()
    with httpx.Client(transport=_gateway(PDF)) as client:
        with pytest.raises(AuthenticationError) as refused:
            fetch_document(_ref(), signing_key=other, http_client=client)
        assert (refused.value.http_status, refused.value.code) == (401, "bad-signature")
        missing = msgspec.structs.replace(_ref(), url="https://spotcheck.example.gov.cn/v1/x")
        with pytest.raises(InvalidRequestError):
            fetch_document(missing, signing_key=SECRET, http_client=client)


def test_a_public_key_cannot_sign_a_request() -> None:
    with pytest.raises(ValueError, match="whpk_"):
        fetch_document(_ref(), signing_key=PUBLIC)


async def test_the_async_fetch_checks_the_digest_too() -> None:
    async with httpx.AsyncClient(transport=_gateway(PDF)) as client:
        assert await fetch_document_async(_ref(), signing_key=SECRET, http_client=client) == PDF
