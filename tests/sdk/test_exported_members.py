"""``spotcheck.sdk.__all__`` is exactly the public surface, and every name in it is real and documented."""

from __future__ import annotations

import importlib
import inspect
import types

import spotcheck.sdk


def public_names() -> set[str]:
    # dir() and getattr() see the lazily imported names (module __getattr__/__dir__) as well as the eager ones.
    return {
        name
        for name in dir(spotcheck.sdk)
        if not name.startswith("_") and not isinstance(getattr(spotcheck.sdk, name), types.ModuleType)
    }


def test_all_equals_the_public_names_the_package_exports() -> None:
    assert set(spotcheck.sdk.__all__) == public_names()


def test_all_has_no_repeats() -> None:
    assert len(spotcheck.sdk.__all__) == len(set(spotcheck.sdk.__all__))


def test_every_exported_name_is_importable_from_the_package() -> None:
    namespace: dict[str, object] = {}
    exec("from spotcheck.sdk import *", namespace)  # noqa: S102 - the star import is what is under test
    assert set(namespace) - {"__builtins__"} == set(spotcheck.sdk.__all__)
    fresh = importlib.import_module("spotcheck.sdk")
    for name in spotcheck.sdk.__all__:
        assert getattr(fresh, name) is namespace[name]


def test_every_exported_name_is_defined_in_the_sdk_and_documented() -> None:
    for name in spotcheck.sdk.__all__:
        value = getattr(spotcheck.sdk, name)
        assert getattr(value, "__module__", "").startswith("spotcheck.sdk."), name
        assert inspect.getdoc(value), name
