"""``spotcheck keys``: a self-signed development pair, the 文号 prefix and the seal, as the profile then loads them."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from spotcheck.gateway.cli import main
from spotcheck.gateway.documents.profile import AuthorityProfile


def test_keys_writes_a_profile_that_signs_numbers_and_seals(tmp_path: Path) -> None:
    seal = Path(__file__).parent / "seal.png"
    runner = CliRunner()
    env = {"SPOTCHECK_DATA_DIR": str(tmp_path)}
    args = [
        "keys",
        "--authority",
        "auth_zj",
        "--name",
        "浙江省市场监督管理局",
        "--prefix",
        "浙市监",
        "--seal",
        str(seal),
    ]
    made = runner.invoke(main, args, env=env)
    assert made.exit_code == 0, made.output
    cert = Path(made.stdout.strip())
    assert cert == tmp_path / "documents" / "authorities" / "auth_zj" / "cert.pem"
    assert oct((cert.parent / "key.pem").stat().st_mode & 0o777) == "0o600"

    profile = AuthorityProfile.for_authority(tmp_path, "auth_zj", "浙江省市场监督管理局")
    assert profile.prefix == "浙市监"
    assert profile.seal is not None
    assert "浙江省市场监督管理局" in profile.signer.subject

    again = runner.invoke(main, args, env=env)
    assert again.exit_code == 2 and "--replace" in again.output  # a bureau's key is never overwritten by accident
    replaced = runner.invoke(main, [*args, "--replace"], env=env)
    assert replaced.exit_code == 0


def test_an_authority_without_a_profile_uses_the_default_one_made_on_first_use(tmp_path: Path) -> None:
    profile = AuthorityProfile.for_authority(tmp_path, "auth_new", "某市市场监督管理局")
    assert (tmp_path / "documents" / "authorities" / "default" / "key.pem").exists()
    assert profile.prefix is None  # the number then starts with the authority's name
    assert "某市市场监督管理局" in profile.signer.subject
