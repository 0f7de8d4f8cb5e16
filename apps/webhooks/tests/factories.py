import factory

from apps.organizations.tests.factories import OrganizationFactory
from apps.webhooks import signing
from apps.webhooks.models import WebhookDelivery, WebhookEndpoint


class WebhookEndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookEndpoint

    organization = factory.SubFactory(OrganizationFactory)
    url = "https://hooks.example.com/olympus"
    description = "receiver"
    secret = factory.LazyFunction(signing.generate_secret)


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    """A delivery whose organization is its endpoint's."""

    class Meta:
        model = WebhookDelivery

    endpoint = factory.SubFactory(WebhookEndpointFactory)
    organization = factory.SelfAttribute("endpoint.organization")
    event_type = "product.created"
    payload = factory.LazyAttribute(lambda d: {"type": d.event_type, "data": {}})
