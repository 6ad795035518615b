"""A Flask marketplace receiving Spotcheck notices through the SDK's WSGI app.

Run: ``SPOTCHECK_WEBHOOK_SECRET=whsec_... python examples/platform_flask.py``, then register
``http://<host>:8000/webhooks/spotcheck`` with the gateway. Flask serves the rest of the site; the receiver
(signature, size, media type and duplicate checks included) answers under its own path.
"""

from __future__ import annotations

import os

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from spotcheck.schemas import DelistingOrder
from spotcheck.sdk import Delivery, ListingMatcher, Receiver

receiver = Receiver(os.environ["SPOTCHECK_WEBHOOK_SECRET"])

# The platform's catalogue, indexed by trademark and spec/model (a real one loads it from its database).
matcher = ListingMatcher(aliases={"暖暖": ["NuanNuan"]})
matcher.add("item-620000001", trademark="暖暖", spec_model="110cm", title="暖暖儿童羽绒服 110cm")
matcher.add("item-620000002", trademark="NuanNuan", spec_model="110 CM")
delisted: list[str] = []  # stands in for the catalogue service that takes listings off sale


@receiver.on(DelistingOrder)
def stop_selling(order: DelistingOrder, delivery: Delivery) -> None:
    """停止销售名单: every listing of the same trademark and spec/model stops selling."""
    delisted.extend(match.listing_id for match in matcher.match(order.data.trademark, order.data.spec_model))


app = Flask(__name__)
app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/webhooks/spotcheck": receiver.wsgi_app()})  # type: ignore[method-assign]

if __name__ == "__main__":
    app.run(port=8000)
