"""Every route of the gateway, assembled in one place for the app factory."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from spotcheck.gateway.api.cases import CaseController
from spotcheck.gateway.api.operations import DeliveryController, OperationsController, intake
from spotcheck.gateway.api.registry import RegistryController
from spotcheck.gateway.checkpoints import AuditController
from spotcheck.gateway.evidence import EvidenceController
from spotcheck.gateway.public import PublicController

route_handlers: list[ControllerRouterHandler] = [
    RegistryController,
    CaseController,
    OperationsController,
    DeliveryController,
    intake,
    EvidenceController,
    AuditController,
    PublicController,
]
"""Every route of the API, mounted by :func:`spotcheck.gateway.app.create_app`."""

__all__ = ["route_handlers"]
