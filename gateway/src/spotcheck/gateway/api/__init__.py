"""HTTP API of the gateway: registry, cases, operations and the platform intake."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from spotcheck.gateway.api.cases import CaseController
from spotcheck.gateway.api.operations import OperationsController, intake
from spotcheck.gateway.api.registry import RegistryController

route_handlers: list[ControllerRouterHandler] = [RegistryController, CaseController, OperationsController, intake]
"""Every route of the API, mounted by :func:`spotcheck.gateway.app.create_app`."""

__all__ = ["route_handlers"]
