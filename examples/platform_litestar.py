"""A Litestar marketplace receiving Spotcheck notices through the SDK's ASGI app, mounted at one path.

Run: ``SPOTCHECK_WEBHOOK_SECRET=whsec_... python examples/platform_litestar.py``, then register
``http://<host>:8000/webhooks/spotcheck`` with the gateway.
"""

from __future__ import annotations

import os

import uvicorn
from litestar import Litestar, asgi
from litestar.types import Receive, Scope, Send  # noqa: TC002 - Litestar reads handler annotations at run time

from spotcheck.schemas import DelistingOrder
from spotcheck.sdk import Delivery, ListingMatcher, Receiver

receiver = Receiver(os.environ["SPOTCHECK_WEBHOOK_SECRET"])
receiver_app = receiver.asgi_app()

# The platform's catalogue, indexed by trademark and spec/model (a real one loads it from its database).
matcher = ListingMatcher(aliases={"暖暖": ["NuanNuan"]})
matcher.add("item-620000001", trademark="暖暖", spec_model="110cm", title="暖暖儿童羽绒服 110cm")
matcher.add("item-620000002", trademark="NuanNuan", spec_model="110 CM")
delisted: list[str] = []  # stands in for the catalogue service that takes listings off sale


@receiver.on(DelistingOrder)
async def stop_selling(order: DelistingOrder, delivery: Delivery) -> None:
    """停止销售名单: every listing of the same trademark and spec/model stops selling."""
    delisted.extend(match.listing_id for match in matcher.match(order.data.trademark, order.data.spec_model))


@asgi("/webhooks/spotcheck", is_mount=True, copy_scope=True)
async def spotcheck_webhooks(scope: Scope, receive: Receive, send: Send) -> None:
    await receiver_app(scope, receive, send)  # type: ignore[arg-type]


app = Litestar(route_handlers=[spotcheck_webhooks])

if __name__ == "__main__":
    uvicorn.run(app, port=8000)
