"""One version for the four distributions, declared once in each ``pyproject.toml`` and read from there.

The distributions release together: their ``[project] version`` fields agree, each pins its sibling at
exactly that version, and every place that states a version reads the installed distribution's metadata
(``spotcheck.sdk.__version__``, ``spotcheck.schemas.__version__``, the OpenAPI and AsyncAPI documents).
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

import spotcheck.schemas
import spotcheck.sdk
from spotcheck.gateway.app import create_app
from spotcheck.gateway.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
MEMBERS = {
    "schemas": "spotcheck-schemas",
    "sdk": "spotcheck-sdk",
    "adapters": "spotcheck-adapters",
    "gateway": "spotcheck-gateway",
}
# Each distribution depends on the one below it (DESIGN.md: schemas ← sdk ← adapters ← gateway).
SIBLING = {"sdk": "spotcheck-schemas", "adapters": "spotcheck-sdk", "gateway": "spotcheck-adapters"}


def _project(member: str) -> dict[str, Any]:
    project: dict[str, Any] = tomllib.loads((ROOT / member / "pyproject.toml").read_text("utf-8"))["project"]
    return project


def release_version() -> str:
    """The version every distribution carries (the SDK's, which the others must equal)."""
    version: str = _project("sdk")["version"]
    return version


def test_the_four_distributions_carry_one_version() -> None:
    versions = {member: _project(member)["version"] for member in MEMBERS}
    assert set(versions.values()) == {release_version()}, versions
    assert re.fullmatch(r"\d+\.\d+\.\d+", release_version())


@pytest.mark.parametrize("member", sorted(SIBLING))
def test_each_pins_its_sibling_at_that_version(member: str) -> None:
    pins = [dep for dep in _project(member)["dependencies"] if dep.startswith("spotcheck-")]
    assert pins == [f"{SIBLING[member]}=={release_version()}"]


@pytest.mark.parametrize(("member", "distribution"), sorted(MEMBERS.items()))
def test_the_installed_metadata_is_the_pyproject_version(member: str, distribution: str) -> None:
    # Fails after a version change until `uv lock` and `uv sync` ran: the lock and the environment are stale.
    assert importlib.metadata.version(distribution) == _project(member)["version"]


def test_dunder_versions_read_the_installed_distribution() -> None:
    assert spotcheck.sdk.__version__ == importlib.metadata.version("spotcheck-sdk") == release_version()
    assert spotcheck.schemas.__version__ == importlib.metadata.version("spotcheck-schemas") == release_version()


def test_the_api_documents_state_the_release_version(tmp_path: Path) -> None:
    app = create_app(Settings().with_changes({"store.data_dir": tmp_path, "worker.run": False}))
    assert app.openapi_schema.info.version == release_version()
    asyncapi = json.loads((ROOT / "schemas" / "generated" / "asyncapi.json").read_text("utf-8"))
    assert asyncapi["info"]["version"] == release_version()


def test_the_lock_file_records_the_release_version() -> None:
    lock = tomllib.loads((ROOT / "uv.lock").read_text("utf-8"))
    locked = {package["name"]: package["version"] for package in lock["package"]}
    assert {locked[name] for name in MEMBERS.values()} == {release_version()}
