"""Fixtures of the example tests: load an example module by path with a known secret, and sign notices for it."""

from __future__ import annotations

import importlib.util
import itertools
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType

import pytest

from spotcheck.schemas import AuthorityRef, DelistingOrder, DelistingOrderData, encode_message
from spotcheck.sdk import Webhook, generate_secret

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SECRET = generate_secret()
_numbers = itertools.count()


def _import(relative: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Import ``examples/<relative>`` as a fresh module, with the secret in its environment."""
    name = f"spotcheck_example_{Path(relative).stem}_{next(_numbers)}"
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / relative)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setenv("SPOTCHECK_WEBHOOK_SECRET", SECRET)
    sys.modules[name] = module  # Django finds its ROOT_URLCONF, and Flask its root path, by module name
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def load_example(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], ModuleType]]:
    """Import an example afresh for one test; it is dropped from ``sys.modules`` afterwards."""
    loaded: list[str] = []

    def load(relative: str) -> ModuleType:
        module = _import(relative, monkeypatch)
        loaded.append(module.__name__)
        return module

    yield load
    for name in loaded:
        sys.modules.pop(name, None)


@pytest.fixture(scope="session")
def django_example() -> Iterator[ModuleType]:
    """The Django example, loaded once: Django's settings can be configured only once per process."""
    from django.test.utils import setup_test_environment, teardown_test_environment

    with pytest.MonkeyPatch.context() as monkeypatch:
        module = _import("platform_django/app.py", monkeypatch)
    setup_test_environment()  # lets the test client's "testserver" host past ALLOWED_HOSTS
    yield module
    teardown_test_environment()
    sys.modules.pop(module.__name__, None)


@pytest.fixture
def delisting_body() -> bytes:
    """A delisting order for the trademark 暖暖, spec/model 110cm, which every example's catalogue holds."""
    issued = datetime(2025, 11, 20, 10, tzinfo=timezone(timedelta(hours=8)))
    return encode_message(
        DelistingOrder(
            timestamp=issued,
            data=DelistingOrderData(
                case_id="ZJ-2025-0001",
                authority=AuthorityRef(code="330000", name="浙江省市场监督管理局", level="provincial"),
                issued_at=issued,
                sample_name="儿童羽绒服",
                trademark="暖暖",
                spec_model="110cm",
                hazardous=True,
                mandatory_standard="GB 31701-2015",
                list_published_at=issued,
            ),
        )
    )


@pytest.fixture
def sign() -> Callable[..., dict[str, str]]:
    """Sign a body as the gateway does (with the examples' secret unless another key is given)."""

    def sign_body(body: bytes, msg_id: str, *, key: str = SECRET) -> dict[str, str]:
        return {**Webhook(key).headers(msg_id, body), "content-type": "application/json"}

    return sign_body


@pytest.fixture
def examples_dir() -> Path:
    """The ``examples/`` folder."""
    return EXAMPLES
