"""The four distributions build as wheels and sdists, and a platform installs the SDK without the server.

How the clean environment is made, and why: ``uv build --all-packages`` builds every sdist and a wheel from
each sdist (so an sdist that misses a file fails here) into a temporary directory. A virtual environment is
made with ``python -m venv`` (no system site-packages) and ``pip`` installs ``spotcheck-sdk`` from those
wheels (``--find-links``); ``spotcheck-schemas`` comes from the same directory as its pinned dependency, and
the third-party dependencies (msgspec, httpx, tenacity, cryptography, rfc8785 and theirs) from the package
index pip is configured with, as on a platform's machine. It therefore needs PyPI (reachable on CI and on
developers' machines here) and takes some seconds: it is marked ``slow`` and runs in ``make test``.
The script run inside the new environment then shows that none of the server's dependencies came along
and that the installed SDK verifies and decodes a signed notice, by API and by its ``spotcheck-sdk`` command.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from spotcheck.schemas import AuthorityRef, MerchantRef, TakedownOrder, TakedownOrderData, encode_message
from spotcheck.sdk import Webhook, generate_secret, new_message_id

ROOT = Path(__file__).resolve().parents[2]
DISTRIBUTIONS = ("spotcheck-schemas", "spotcheck-sdk", "spotcheck-adapters", "spotcheck-gateway")
SERVER_ONLY = ("litestar", "sqlalchemy", "structlog", "alembic", "uvicorn", "spotcheck.gateway", "spotcheck.adapters")

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("packaging")]


def _version() -> str:
    version: str = tomllib.loads((ROOT / "sdk" / "pyproject.toml").read_text("utf-8"))["project"]["version"]
    return version


def _uv() -> str:
    found = ROOT / ".tools" / "bin" / "uv"
    if found.exists():
        return str(found)
    on_path = shutil.which("uv")
    if on_path is None:
        pytest.fail("uv is needed to build the distributions: run `make setup` (it installs .tools/bin/uv)")
    return on_path


def _run(command: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(  # noqa: S603 - fixed commands from this test
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout}\n{done.stderr}"
    return done


def _clean_env() -> dict[str, str]:
    """The environment without this workspace's virtualenv, so nothing of .venv leaks into the new one."""
    env = {key: value for key, value in os.environ.items() if key not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"}}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(ROOT)))
    return env


@pytest.fixture(scope="module")
def dist_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every sdist and wheel of the workspace, built once for the module."""
    out = tmp_path_factory.mktemp("dist")
    env = {**_clean_env(), "UV_PYTHON_DOWNLOADS": "never", "UV_PYTHON": sys.executable}
    _run([_uv(), "build", "--all-packages", "--out-dir", str(out)], cwd=ROOT, env=env)
    return out


@pytest.fixture(scope="module")
def platform_venv(dist_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with only ``spotcheck-sdk`` (and what it depends on) installed from the wheels."""
    venv = tmp_path_factory.mktemp("platform") / "venv"
    env = _clean_env()
    _run([sys.executable, "-m", "venv", str(venv)], cwd=venv.parent, env=env)
    python = venv / "bin" / "python"
    install = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _run([*install, "--find-links", str(dist_dir), f"spotcheck-sdk=={_version()}"], cwd=venv.parent, env=env)
    return venv


def test_every_distribution_builds_a_wheel_and_an_sdist(dist_dir: Path) -> None:
    version = _version()
    built = sorted(path.name for path in dist_dir.iterdir() if not path.name.startswith("."))
    expected = sorted(
        name
        for distribution in DISTRIBUTIONS
        for name in (
            f"{distribution.replace('-', '_')}-{version}-py3-none-any.whl",
            f"{distribution.replace('-', '_')}-{version}.tar.gz",
        )
    )
    assert built == expected


def _signed_notice(tmp_path: Path) -> tuple[str, str]:
    """Write a signed takedown order (body, headers) under ``tmp_path``; return the secret and the case id."""
    secret = generate_secret()
    now = datetime.now(UTC)
    notice = TakedownOrder(
        timestamp=now,
        data=TakedownOrderData(
            case_id="ZJ-2026-0001",
            authority=AuthorityRef(code="330000", name="浙江省市场监督管理局", level="provincial"),
            issued_at=now,
            respond_by=now + timedelta(hours=4),
            merchant=MerchantRef(shop_id="shop-1001", shop_name="某某电器旗舰店", kind="natural_person"),
            measures=["delete", "block"],
            listing_ids=["item-1"],
            include_shop=True,
            reason="经营者无法联系",
        ),
    )
    body = encode_message(notice)
    headers = Webhook(secret).headers(new_message_id(), body)
    (tmp_path / "body.json").write_bytes(body)
    (tmp_path / "headers.json").write_text(json.dumps(headers), "utf-8")
    return secret, notice.data.case_id


PLATFORM_SCRIPT = textwrap.dedent(
    """
    import importlib.metadata, importlib.util, json, sys
    from pathlib import Path

    present = [name for name in sys.argv[4:] if importlib.util.find_spec(name) is not None]
    import spotcheck.sdk
    from spotcheck.schemas import TakedownOrder, canonical_digest, decode_notice
    from spotcheck.sdk import Webhook

    folder = Path(sys.argv[1])
    body = (folder / "body.json").read_bytes()
    headers = json.loads((folder / "headers.json").read_text("utf-8"))
    Webhook(sys.argv[2]).verify(body, headers)
    notice = decode_notice(body)
    assert isinstance(notice, TakedownOrder)
    print(json.dumps({
        "server_modules_present": present,
        "sdk_file": spotcheck.sdk.__file__,
        "version": spotcheck.sdk.__version__,
        "metadata_version": importlib.metadata.version("spotcheck-sdk"),
        "case_id": notice.data.case_id,
        "expected_case": sys.argv[3],
        "jcs": canonical_digest({"b": 1.0, "a": [None]}),
    }))
    """
)


def test_a_platform_installs_the_sdk_alone_and_verifies_a_notice(platform_venv: Path, tmp_path: Path) -> None:
    secret, case_id = _signed_notice(tmp_path)
    script = tmp_path / "platform.py"
    script.write_text(PLATFORM_SCRIPT, "utf-8")
    python = platform_venv / "bin" / "python"
    # -I: no user site, no PYTHONPATH, no current directory; only what the venv holds.
    done = _run([str(python), "-I", str(script), str(tmp_path), secret, case_id, *SERVER_ONLY], cwd=tmp_path)
    report = json.loads(done.stdout)
    assert report["server_modules_present"] == []
    assert Path(report["sdk_file"]).is_relative_to(platform_venv)
    assert report["version"] == report["metadata_version"] == _version()
    assert report["case_id"] == report["expected_case"]
    # The digest contract works with the installed dependency: SHA-256 of {"a":[null],"b":1}.
    assert report["jcs"] == "1bf05c0d625a0ef02a68ac100ecae45da7763ccc9dd8f7e46c28256467f2e58d"

    command = platform_venv / "bin" / "spotcheck-sdk"
    verified = _run(
        [str(command), "verify", "--body", "body.json", "--headers", "headers.json", "--secret", secret],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert json.loads(verified.stdout)["data"]["case_id"] == case_id
