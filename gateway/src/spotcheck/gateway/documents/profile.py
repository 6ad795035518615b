"""An authority's document profile: its 文号 prefix, its signing key and certificate, and its seal image.

Documents belong to the bureau that issues them, so each authority has a folder of its own under
``<data_dir>/documents/authorities/<authority id>/`` (falling back to ``…/default/``):

====================  ===============================================================================
``profile.json``      ``{"prefix": "浙市监"}``: what every 文号 starts with (``浙市监网抽通〔2026〕12号``)
``key.pem``           the private key that signs (PEM, PKCS#8 or traditional; not encrypted)
``cert.pem``          its certificate: who a PDF reader says signed
``chain.pem``         optional: the certificates that issued it, for the reader to build the path
``seal.png``          optional: the seal (印章) image placed over the signature block
====================  ===============================================================================

``spotcheck keys --authority <id> --prefix 浙市监 [--seal seal.png]`` writes a self-signed development pair and
the profile; a bureau replaces ``key.pem`` and ``cert.pem`` with its own. When an authority has no folder and
there is no default either, a development pair is made in ``default/`` on first use (logged as a warning) so a
fresh installation works; the prefix is then the authority's name.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import structlog

from spotcheck.gateway.documents.sign import DocumentSigner, create_development_pair

__all__ = ["AuthorityProfile", "profile_folder", "profiles_root", "write_profile"]

_log = structlog.get_logger("spotcheck.gateway.documents")
_DEFAULT: Final = "default"
_lock = threading.Lock()
_loaded: dict[tuple[Path, float], AuthorityProfile] = {}


def profiles_root(data_dir: Path) -> Path:
    """Where the authorities' document profiles live: ``<data_dir>/documents/authorities``."""
    return data_dir / "documents" / "authorities"


def profile_folder(data_dir: Path, authority_id: str) -> Path:
    """The authority's own profile folder (which may not exist yet)."""
    if not authority_id or "/" in authority_id or authority_id.startswith("."):
        raise ValueError(f"not an authority id: {authority_id!r}")
    return profiles_root(data_dir) / authority_id


@dataclass(frozen=True)
class AuthorityProfile:
    """What an authority signs and numbers its documents with."""

    prefix: str | None
    signer: DocumentSigner
    seal: str | None
    """The seal image as a ``data:`` URI for the template, or None."""

    @classmethod
    def for_authority(cls, data_dir: Path, authority_id: str, authority_name: str) -> AuthorityProfile:
        """The authority's profile (its own folder, else ``default``), loaded once per folder and change."""
        folder = profile_folder(data_dir, authority_id)
        if not (folder / "key.pem").exists():
            folder = profiles_root(data_dir) / _DEFAULT
        with _lock:
            if not (folder / "key.pem").exists():
                _log.warning("no document signing key: creating a self-signed development pair", folder=str(folder))
                create_development_pair(folder, authority_name=authority_name)
            stamp = max(path.stat().st_mtime for path in folder.iterdir())
            cached = _loaded.get((folder, stamp))
            if cached is None:
                cached = _loaded[(folder, stamp)] = cls._read(folder)
        return cached

    @classmethod
    def _read(cls, folder: Path) -> AuthorityProfile:
        chain = (folder / "chain.pem",) if (folder / "chain.pem").exists() else ()
        signer = DocumentSigner.load(folder / "key.pem", folder / "cert.pem", chain)
        prefix = None
        if (folder / "profile.json").exists():
            prefix = str(json.loads((folder / "profile.json").read_text(encoding="utf-8")).get("prefix") or "") or None
        seal = None
        if (folder / "seal.png").exists():
            seal = "data:image/png;base64," + base64.b64encode((folder / "seal.png").read_bytes()).decode("ascii")
        return cls(prefix=prefix, signer=signer, seal=seal)


def write_profile(
    data_dir: Path,
    authority_id: str,
    *,
    authority_name: str,
    prefix: str | None = None,
    seal: Path | None = None,
    replace_key: bool = False,
) -> Path:
    """Make the authority's profile folder: a self-signed development pair, and the prefix and seal if given.

    An existing key is kept unless ``replace_key``: a bureau's own key is never overwritten by accident.

    Raises:
        ValueError: a bad authority id, a seal that is not a PNG image, or a key present without ``replace_key``.
    """
    folder = profile_folder(data_dir, authority_id) if authority_id != _DEFAULT else profiles_root(data_dir) / _DEFAULT
    if (folder / "key.pem").exists() and not replace_key:
        raise ValueError(f"{folder / 'key.pem'} exists; pass --replace to make a new development pair")
    if seal is not None and not seal.read_bytes().startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError(f"{seal}: the seal must be a PNG image (with a transparent background)")
    create_development_pair(folder, authority_name=authority_name)
    if prefix is not None:
        (folder / "profile.json").write_text(json.dumps({"prefix": prefix}, ensure_ascii=False), encoding="utf-8")
    if seal is not None:
        (folder / "seal.png").write_bytes(seal.read_bytes())
    return folder
