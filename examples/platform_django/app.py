"""A single-file Django marketplace receiving Spotcheck notices in a view that calls ``Receiver.handle_sync``.

Run: ``SPOTCHECK_WEBHOOK_SECRET=whsec_... python examples/platform_django/app.py`` (any ``manage.py`` command
may follow, ``runserver 8000`` is the default), then register ``http://<host>:8000/webhooks/spotcheck`` with the
gateway. In a full project the view and the receiver go in an app's ``views.py`` and the settings stay in
``settings.py``; nothing else changes.
"""

from __future__ import annotations

import os
import sys

import django
from django.conf import settings
from django.core.management import execute_from_command_line
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from spotcheck.schemas import DelistingOrder
from spotcheck.sdk import Delivery, ListingMatcher, Receiver

if not settings.configured:
    settings.configure(
        SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", os.urandom(32).hex()),
        ALLOWED_HOSTS=["localhost", "127.0.0.1"],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=["django.middleware.csrf.CsrfViewMiddleware"],  # on, as in any project: the view opts out
    )
    django.setup()

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


@csrf_exempt  # the gateway proves itself with the webhook signature, not a CSRF token
@require_POST
def spotcheck_webhook(request: HttpRequest) -> HttpResponse:
    answer = receiver.handle_sync(request.body, request.headers)
    return HttpResponse(answer.body, status=answer.status, headers=answer.headers)


urlpatterns = [path("webhooks/spotcheck", spotcheck_webhook)]

if __name__ == "__main__":
    execute_from_command_line(sys.argv if len(sys.argv) > 1 else [sys.argv[0], "runserver", "8000"])
