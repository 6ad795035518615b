"""The Litestar application factory of the gateway."""

from __future__ import annotations

import contextlib
import importlib.metadata
from collections.abc import AsyncGenerator

import structlog
from litestar import Litestar, Request, Response, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import ControllerRouterHandler
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.audit.controllers import AuditController
from spotcheck.gateway.audit.public_controllers import PublicLogController
from spotcheck.gateway.cases.controllers import CaseController
from spotcheck.gateway.console.mount import ConsoleHeadersMiddleware, console_exception_handlers, console_routes
from spotcheck.gateway.deadlines.controllers import OperationsController
from spotcheck.gateway.delivery.controllers import DeliveryController
from spotcheck.gateway.documents.controllers import (
    DocumentController,
    PlatformDocumentController,
    PublicDocumentController,
)
from spotcheck.gateway.evidence.controllers import EvidenceController
from spotcheck.gateway.intake.controllers import intake
from spotcheck.gateway.intake.service import IntakeCommitter
from spotcheck.gateway.observability import Metrics, configure_logging
from spotcheck.gateway.plans.controllers import DirectoryController, DrawController, PlanController
from spotcheck.gateway.public.controllers import PublicController
from spotcheck.gateway.public.draws import PublicDrawsController
from spotcheck.gateway.public.hazards import PublicHazardListController
from spotcheck.gateway.public.penalties import PublicPenaltiesController
from spotcheck.gateway.public.warnings import PublicWarningsController
from spotcheck.gateway.registry.controllers import RegistryController
from spotcheck.gateway.runtime import Runtime, freeze_startup_heap
from spotcheck.gateway.sanctions.controllers import SanctionsController
from spotcheck.gateway.scheduler import start_background
from spotcheck.gateway.settings import Settings, get_settings
from spotcheck.gateway.web.bodies import JsonBodyRequest
from spotcheck.gateway.web.deps import require_bearer_token
from spotcheck.gateway.web.middleware import SESSION_STATE_KEY, RequestContextMiddleware
from spotcheck.gateway.web.openapi import polish_openapi
from spotcheck.gateway.web.problems import ProblemError, exception_handlers
from spotcheck.gateway.web.timestamps import TIMESTAMP_DECODERS, RequestTimestampSchemaPlugin

__all__ = ["create_app", "served_app"]

_log = structlog.get_logger("spotcheck.gateway")


@get("/health", tags=["operations"], summary="Liveness: the process answers")
async def health() -> dict[str, str]:
    """Liveness probe: answers while the process runs, whatever the database does."""
    return {"status": "ok"}


@get("/ready", tags=["operations"], summary="Readiness: the database answers")
async def ready(state: State) -> dict[str, str]:
    """Readiness probe: 200 when the database answers a query, 503 otherwise."""
    runtime: Runtime = state.runtime
    try:
        async with runtime.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:
        raise ProblemError(503, "not-ready", f"database unreachable: {type(exc).__name__}") from exc
    return {"status": "ready", "database": runtime.engine.dialect.name}


@get("/metrics", tags=["operations"], summary="Prometheus metrics", media_type=CONTENT_TYPE_LATEST)
async def metrics(state: State) -> Response[bytes]:
    """Prometheus exposition of requests, notices by type and state, and deadlines due and overdue."""
    runtime: Runtime = state.runtime
    await runtime.refresh_gauges()
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)


async def provide_session(request: Request[object, object, State]) -> AsyncGenerator[AsyncSession, None]:
    """One database session per request; uncommitted work is rolled back when the handler ends.

    The session is also parked in the ASGI scope: Litestar skips a generator dependency's clean-up when a
    sibling dependency fails after it started (the principal answering 401), and the request middleware then
    closes what was left, so that no refused request keeps a pooled connection until the garbage collector runs.
    """
    runtime: Runtime = request.app.state.runtime
    session = runtime.sessions()
    request.scope.setdefault("state", {})[SESSION_STATE_KEY] = session
    try:
        yield session
    finally:
        request.scope["state"].pop(SESSION_STATE_KEY, None)
        await session.close()


ROUTE_HANDLERS: list[ControllerRouterHandler] = [
    RegistryController,
    CaseController,
    OperationsController,
    DeliveryController,
    intake,
    EvidenceController,
    DocumentController,
    PlatformDocumentController,
    PublicDocumentController,
    AuditController,
    PublicController,
    PublicLogController,
    PlanController,
    DrawController,
    DirectoryController,
    PublicDrawsController,
    SanctionsController,
    PublicHazardListController,
    PublicWarningsController,
    PublicPenaltiesController,
]
"""Every capability's routes, mounted by :func:`create_app`."""


def served_app(settings: Settings | None = None) -> Litestar:
    """The application as ``spotcheck serve`` runs it in each process: :func:`create_app`, its start-up heap frozen.

    Also uvicorn's factory for several processes (``spotcheck.gateway.app:served_app``), reading the environment.
    """
    app = create_app(settings)
    app.on_startup.append(freeze_startup_heap)  # after the lifespan: the runtime, its pools and caches exist
    return app


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> Litestar:
    """Build the gateway application.

    Args:
        settings: configuration; read from the environment when omitted.
        runtime: an already-started runtime (tests share one); otherwise one is started with the app.
    """
    settings = settings or get_settings()
    configure_logging(json=settings.log.json, level=settings.log.level)
    owned = runtime is None

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncGenerator[None, None]:
        rt = runtime or Runtime(settings, metrics=Metrics())
        if owned:
            await rt.start()
        app.state.runtime = rt
        app.state.intake = IntakeCommitter(rt)
        polish_openapi(app.openapi_schema)
        if owned and settings.worker.run:
            try:
                # A missing adapter fails the start-up here, loudly, instead of killing a background task later.
                await start_background(rt)
            except BaseException:
                await rt.stop()
                raise
        try:
            yield
        finally:
            await app.state.intake.close()
            if owned:
                await rt.stop()

    openapi = OpenAPIConfig(
        title="Spotcheck gateway",
        version=importlib.metadata.version("spotcheck-gateway"),  # one source: gateway/pyproject.toml
        description=(
            "网络商品抽检网关 — the regulator's service for online product quality sampling inspection: "
            "cases and their "
            "legal deadlines, signed notices and orders to platforms, and the signed intake of platform replies."
        ),
        path="/schema",
        render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
        components=Components(
            security_schemes={
                "regulatorToken": SecurityScheme(
                    type="http", scheme="bearer", description="Regulator API token (sct_…), scoped to a jurisdiction"
                ),
            }
        ),
    )

    return Litestar(
        route_handlers=[health, ready, metrics, *ROUTE_HANDLERS, *console_routes()],
        dependencies={"session": Provide(provide_session)},
        guards=[require_bearer_token],  # no token: 401 before the body is read
        lifespan=[lifespan],
        exception_handlers=console_exception_handlers(exception_handlers),
        middleware=[RequestContextMiddleware(), ConsoleHeadersMiddleware()],
        openapi_config=openapi,
        request_max_body_size=settings.http.max_request_bytes,
        request_class=JsonBodyRequest,  # JSON bodies decoded strictly: a moment is a string, never a number
        type_decoders=TIMESTAMP_DECODERS,
        plugins=[RequestTimestampSchemaPlugin()],
        debug=False,
        state=State({"settings": settings}),
    )
