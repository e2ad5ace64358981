"""The partner API (FastAPI): enrol, revoke and follow customers, quarter summaries, webhooks.

A key belongs to one partner and every query is scoped to that partner: another partner's customer or
webhook is answered exactly like one that does not exist (404), so not even existence leaks. The routes are
in routers/, one per resource; what they depend on (the caller, the data dir, the settings) in
dependencies.py."""

from contextlib import asynccontextmanager

from fastapi import FastAPI

from joulo_pipelines.lib.api import store
from joulo_pipelines.lib.api.delivery import DeliveryWorker
from joulo_pipelines.lib.api.dependencies import ERRORS, ApiSettings
from joulo_pipelines.lib.api.guards import AccessLog, BodySizeLimit, RateLimiter
from joulo_pipelines.lib.api.routers import customers, evidence, quarters, webhooks
from joulo_pipelines.lib.paths import DataDir

__all__ = ["ApiSettings", "create_app"]


def create_app(data_dir: DataDir, settings: ApiSettings = ApiSettings()) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        with store.connect(data_dir):
            pass  # the schema exists before the first request or delivery pass
        worker = DeliveryWorker(data_dir, settings.retry, settings.poll_seconds,
                                settings.allow_http_webhooks) if settings.deliver_webhooks else None
        if worker:
            worker.start()
        try:
            yield
        finally:
            if worker:
                worker.stop()

    # operationId = the function's name (enrol_customer, get_customer, ...): what generated clients call.
    app = FastAPI(title="Joulo partner API", version="1.0.0", lifespan=lifespan,
                  generate_unique_id_function=lambda route: route.name,
                  description="Enrol customers with their ERE mandate, follow their status, receive signed "
                              "webhooks (Standard Webhooks). Amounts in integer cents; kWh and ERE as decimal "
                              "strings.")
    app.state.data_dir, app.state.settings = data_dir, settings
    app.state.limiter = RateLimiter(settings.rate_limit, data_dir.root / "api" / "rate_limits.sqlite")
    for router in (customers.router, evidence.router, quarters.router, webhooks.router):
        app.include_router(router, prefix="/v1", responses=ERRORS)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes,
                       upload_max_bytes=settings.max_upload_bytes)
    app.add_middleware(AccessLog)
    return app
