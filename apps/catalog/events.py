"""Catalog reactions to other apps' events."""

from apps.catalog import cache as catalog_cache
from apps.core.events import event_handler
from apps.core.models import OutboxEvent
from apps.organizations import events as organization_events


@event_handler(organization_events.ORGANIZATION_UPDATED)
@event_handler(organization_events.ORGANIZATION_DELETED)
@event_handler(organization_events.ORGANIZATION_RESTORED)
def invalidate_organization_reads(event: OutboxEvent) -> None:
    """A renamed, deleted or restored organization changes what its product lists show."""
    if event.organization_id:
        catalog_cache.bump_structure(event.organization_id)


@event_handler("product.created")
@event_handler("product.updated")
@event_handler("product.status_changed")
@event_handler("product.deleted")
@event_handler("product.inventory_adjusted")
@event_handler("category.created")
@event_handler("category.updated")
@event_handler("category.moved")
@event_handler("category.deleted")
def invalidate_product_reads(event: OutboxEvent) -> None:
    """The write bumped the version right after commit; this bump (at least once, through the outbox)
    covers the case where Redis did not answer then. A second bump only costs one cache miss."""
    if event.organization_id:
        catalog_cache.bump(event.organization_id)
