"""The authority's PAdES signature on each document (pyHanko), and the development key pair ``spotcheck keys`` makes.

A document is signed with a PAdES baseline B-B signature (``/SubFilter /ETSI.CAdES.detached``, SHA-256) by the
key and certificate the bureau configures: a PDF reader shows who signed it and that nothing changed since. The
signature is invisible on the page; the seal image, when the bureau has one, sits in the signature block that
the template lays out.

For development, :func:`create_development_pair` makes a self-signed ECDSA P-256 certificate in the authority's
name. A bureau uses its own by placing its PEM key and certificate (and the issuing chain, if any) where
:class:`~spotcheck.gateway.documents.profile.AuthorityProfile` looks for them.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

__all__ = ["DocumentSigner", "create_development_pair"]


@dataclass(frozen=True)
class DocumentSigner:
    """A loaded signing key and certificate; ``subject`` is who a PDF reader says signed."""

    signer: signers.SimpleSigner
    subject: str

    @classmethod
    def load(cls, key_path: Path, cert_path: Path, chain: tuple[Path, ...] = ()) -> DocumentSigner:
        """Load a PEM (or DER) private key and certificate, and the issuing chain if the bureau has one.

        Raises:
            ValueError: the key or certificate cannot be read.
        """
        signer = signers.SimpleSigner.load(  # type: ignore[no-untyped-call]
            key_file=str(key_path), cert_file=str(cert_path), ca_chain_files=tuple(str(p) for p in chain) or None
        )
        if signer is None or signer.signing_cert is None:
            raise ValueError(f"cannot load the document signing key {key_path} and certificate {cert_path}")
        certificate: asn1_x509.Certificate = signer.signing_cert
        return cls(signer=signer, subject=str(certificate.subject.human_friendly))

    def sign(self, pdf: bytes, *, reason: str, location: str) -> bytes:
        """The PDF with the authority's PAdES signature added as an incremental update.

        Runs pyHanko's event loop of its own, so call it from a worker thread when an event loop is running.
        """
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        meta = signers.PdfSignatureMetadata(
            field_name="AuthoritySignature",
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            reason=reason,
            location=location,
        )
        signed = asyncio.run(signers.PdfSigner(meta, signer=self.signer).async_sign_pdf(writer))
        content: bytes = signed.getvalue()
        return content


def create_development_pair(folder: Path, *, authority_name: str, days: int = 730) -> tuple[Path, Path]:
    """Write a self-signed ECDSA P-256 key (``key.pem``, mode 0600) and certificate (``cert.pem``) into ``folder``.

    For development and tests only: a reader shows the signature as valid but its signer as untrusted.
    """
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, authority_name),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{authority_name}（开发用电子印章）"),
        ]
    )
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = folder / "key.pem", folder / "cert.pem"
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key_path.write_bytes(key_bytes)
    key_path.chmod(0o600)
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path
