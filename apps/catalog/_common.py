"""What every catalog write module needs: who may act, the locked product, the cache drop after commit.

Shared by ``services`` (products, variants, categories) and ``images`` (uploads), which
``services`` imports; so these live below both.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction

from apps.catalog import cache as catalog_cache
from apps.catalog.models import Product
from apps.core.exceptions import NotFound
from apps.organizations.models import Organization
from apps.organizations.policies import permission_require


def authorize(
    actor: Any, organization: Organization | uuid.UUID, perm: str, permissions: frozenset[str] | None
) -> None:
    """The acting user needs ``perm`` on the organization (every door); ``actor=None`` is the platform itself."""
    if actor is None:
        return
    if permissions is None and not isinstance(organization, Organization):
        organization = Organization.objects.get(pk=organization)
    permission_require(user=actor, organization=organization, perm=perm, permissions=permissions)  # type: ignore[arg-type]


def locked_product(product_id: uuid.UUID | str) -> Product:
    """The live product, its row locked for the caller's transaction; NotFound if gone.

    ``FOR NO KEY UPDATE``: writers of the product take turns, while orders for it go on (an order
    item's foreign key takes a key-share lock, which ``FOR UPDATE`` would make wait for the writer's
    whole transaction, e.g. an image upload's file write).
    """
    product = Product.objects.alive().select_for_update(no_key=True).filter(pk=product_id).first()
    if product is None:
        raise NotFound("Product not found.")
    return product


def invalidate_after_commit(organization_id: uuid.UUID) -> None:
    """Drop the organization's cached catalog pages once the caller's transaction commits."""
    transaction.on_commit(lambda: catalog_cache.bump_after_commit(organization_id))
