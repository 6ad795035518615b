"""The regulator console: the bureau's web workspace at ``/console/``, in Chinese, server-rendered.

Every page calls the same services as the JSON API (no logic of its own); an officer's session becomes the same
:class:`~spotcheck.gateway.access.Principal` a token does, so jurisdiction and scopes are decided in one place.
"""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from spotcheck.gateway.console.audit_pages import AuditPagesController
from spotcheck.gateway.console.auth import LoginController
from spotcheck.gateway.console.case_detail import CaseDetailController
from spotcheck.gateway.console.case_list import CaseListController
from spotcheck.gateway.console.dashboard import DashboardController
from spotcheck.gateway.console.plans_pages import PlansPagesController
from spotcheck.gateway.console.registry_pages import RegistryPagesController

__all__ = ["CONSOLE_HANDLERS"]

CONSOLE_HANDLERS: list[ControllerRouterHandler] = [
    LoginController,
    DashboardController,
    CaseListController,
    CaseDetailController,
    RegistryPagesController,
    AuditPagesController,
    PlansPagesController,
]
"""The console's pages, mounted by :func:`spotcheck.gateway.app.create_app`."""
