"""How other authorities are reached, and how quickly an authority's orders must be answered.

The hazard 通报 of 四(二) goes to the authority where the labelled manufacturer is located; it travels through
that authority's channel: a Standard Webhooks endpoint (checked by the same SSRF guard as platform endpoints,
its signing secret sealed under the master key and shown once) or an e-mail address. The same row holds the
hours within which the authority's 立即 orders (stop-sale, delisting, takedown) are acknowledged and carried out,
when it sets its own instead of the gateway's defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from spotcheck.adapters import UnsafeEndpointError, check_endpoint_url
from spotcheck.gateway.delivery.service import seal_adapter_config
from spotcheck.gateway.registry.service import RegistryService
from spotcheck.gateway.store.models import Authority
from spotcheck.gateway.store.models_duties import AuthorityChannel
from spotcheck.gateway.web.problems import field_error
from spotcheck.sdk import generate_secret

__all__ = ["ChannelService", "SetChannel"]


@dataclass(frozen=True)
class SetChannel:
    """The result of setting a channel: the row, and the webhook signing secret when a new one was made."""

    channel: AuthorityChannel
    webhook_signing_secret: str | None


class ChannelService(RegistryService):
    """Sets and reads authorities' contact channels for one regulator."""

    async def set_channel(
        self,
        authority_id: str,
        *,
        webhook_url: str | None,
        email: str | None,
        order_acknowledge_hours: int | None,
        order_effect_hours: int | None,
    ) -> SetChannel:
        """Set an authority's channel and order hours (admin, inside the principal's area); commits.

        Raises:
            ProblemError: 404 unknown authority, 403 outside the area, 400 an endpoint the SSRF guard refuses or
                an acknowledgement allowed more hours than the effect.
        """
        self.principal.require_scope("admin")
        authority = await self.session.get(Authority, authority_id)
        if authority is None:
            raise field_error(404, "authority_id", "no such authority", code="not-found")
        if authority.id != self.principal.authority_id and not self.principal.can_act_in(authority.division_code):
            raise field_error(403, "authority_id", "outside this authority's area", code="outside-jurisdiction")
        if order_acknowledge_hours and order_effect_hours and order_acknowledge_hours > order_effect_hours:
            raise field_error(400, "order_acknowledge_hours", "must not exceed order_effect_hours")
        channel = await self.session.get(AuthorityChannel, authority.id)
        if channel is None:
            channel = AuthorityChannel(authority_id=authority.id)
            self.session.add(channel)
        secret: str | None = None
        if webhook_url is None:
            channel.webhook_url = None
            channel.webhook_config = None
        elif webhook_url != channel.webhook_url:
            allow_private = self.runtime.settings.delivery.allow_private_endpoints
            try:
                check_endpoint_url(webhook_url, allow_private=allow_private, resolve=not allow_private)
            except UnsafeEndpointError as exc:
                raise field_error(400, "webhook_url", str(exc)) from None
            secret = generate_secret()
            sealed = seal_adapter_config({"url": webhook_url, "secret": secret}, self.runtime.master_key, authority.id)
            channel.webhook_url = webhook_url
            channel.webhook_config = msgspec.json.encode(sealed)
        channel.email = email
        channel.order_acknowledge_hours = order_acknowledge_hours
        channel.order_effect_hours = order_effect_hours
        await self._audit(
            "authority.channel_set",
            authority.id,
            {
                "webhook_url": webhook_url,
                "email": email,
                "new_webhook_secret": secret is not None,
                "order_acknowledge_hours": order_acknowledge_hours,
                "order_effect_hours": order_effect_hours,
            },
        )
        await self.session.commit()
        return SetChannel(channel, secret)
