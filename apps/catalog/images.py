"""Product images (issue 16): every write to ``ProductImage``, one rulebook for REST, GraphQL and the admin.

An upload is checked by its content before anything is stored: Pillow must read
it as JPEG, PNG, WebP or GIF (whatever its name or declared type says), it must
be at most ``PRODUCT_IMAGE_MAX_BYTES`` (413 ``PAYLOAD_TOO_LARGE``) and between
1x1 and ``PRODUCT_IMAGE_MAX_DIMENSION`` pixels on each side (400). The file goes
to Django's default storage (the filesystem, or S3 when configured) under
``products/<organization>/<product>/<image id>.<ext>``, named and typed by the
detected format.

Each service locks the product row, so at most ``MAX_IMAGES`` images per product
hold under concurrent uploads (409 ``CONFLICT``, ``details.reason =
"too_many_images"``), and rewrites the product's ``images`` list (what every read
shows, without a join) in the same transaction as the rows. Stored files are
removed only after the deleting transaction commits: a rolled-back delete keeps
them. A product's soft delete discards its images the same way.

This module imports nothing from ``apps.catalog.services`` (which calls
:func:`product_images_discard`), so there is no cycle.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from apps.audit.services import record
from apps.catalog._common import authorize as _authorize
from apps.catalog._common import invalidate_after_commit as _after_commit_invalidate
from apps.catalog._common import locked_product as _locked
from apps.catalog.errors import ImageTooLarge
from apps.catalog.models import IMAGE_FORMATS, MAX_IMAGES, Product, ProductImage
from apps.core.events import publish_event
from apps.core.exceptions import Conflict, NotFound, ValidationError

logger = logging.getLogger("olympus.catalog.images")

ALT_MAX_LENGTH = 200


@dataclass(frozen=True)
class ImageFacts:
    """What the bytes of an upload are, as Pillow read them."""

    content_type: str
    width: int
    height: int
    size_bytes: int


def _invalid(message: str) -> ValidationError:
    return ValidationError(details={"file": [message]})


def image_inspect(upload: Any) -> ImageFacts:
    """Check an upload by its content: size, format (Pillow, not the name or declared type) and dimensions.

    The dimensions are read from the header before any pixel is decoded, so a
    decompression bomb is refused without being expanded; Pillow's own bomb
    check (``Image.MAX_IMAGE_PIXELS``) is an error here, never a warning.
    """
    size = getattr(upload, "size", None)
    if size is None:
        raise _invalid("No file was sent.")
    max_bytes = settings.PRODUCT_IMAGE_MAX_BYTES
    if size > max_bytes:
        raise ImageTooLarge(
            f"The image is larger than {max_bytes} bytes.",
            details={"file": [f"At most {max_bytes} bytes."], "max_bytes": max_bytes},
        )
    if size == 0:
        raise _invalid("The file is empty.")
    max_side = settings.PRODUCT_IMAGE_MAX_DIMENSION
    upload.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(upload, formats=list(IMAGE_FORMATS)) as image:
                image_format, (width, height) = image.format, image.size
                if not (1 <= width <= max_side and 1 <= height <= max_side):
                    raise _invalid(f"Width and height must be between 1 and {max_side} pixels; got {width}x{height}.")
                image.verify()
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _invalid(f"Width and height must be between 1 and {max_side} pixels.") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, TypeError, IndexError, EOFError) as exc:
        raise _invalid("Not a JPEG, PNG, WebP or GIF image (or a damaged one).") from exc
    finally:
        upload.seek(0)
    if image_format not in IMAGE_FORMATS:  # pragma: no cover - Image.open(formats=...) refuses others
        raise _invalid("Not a JPEG, PNG, WebP or GIF image.")
    return ImageFacts(content_type=IMAGE_FORMATS[image_format][0], width=width, height=height, size_bytes=size)


# --- helpers -----------------------------------------------------------------------------------------


def image_entry(image: ProductImage) -> dict[str, Any]:
    """One element of ``Product.images`` (and of GraphQL's ``Product.images``)."""
    return {
        "id": str(image.id),
        "url": image.url,
        "width": image.width,
        "height": image.height,
        "alt": image.alt,
        "position": image.position,
    }


def _ordered(product: Product) -> list[ProductImage]:
    return list(ProductImage.objects.filter(product=product).order_by("position", "created_at", "id"))


def _renumber_and_sync(product: Product, images: list[ProductImage]) -> list[dict[str, Any]]:
    """Positions 0..n-1 in the given order, and the product's ``images`` list rewritten from them."""
    now = timezone.now()
    changed = []
    for position, image in enumerate(images):
        if image.position != position:
            image.position, image.updated_at = position, now
            changed.append(image)
    if changed:
        ProductImage.objects.bulk_update(changed, ["position", "updated_at"])
    entries = [image_entry(image) for image in images]
    Product.objects.filter(pk=product.pk).update(images=entries, updated_at=now)
    product.images, product.updated_at = entries, now
    return entries


def _announce(product: Product, action: str, *, old: Any = None, new: Any = None) -> None:
    record(
        action=action,
        resource_type="product",
        resource_id=product.id,
        organization=product.organization_id,
        old_values=old,
        new_values=new,
    )
    # What webhooks and cache invalidation already know: the product's fields changed.
    publish_event(
        event_type="product.updated",
        organization_id=product.organization_id,
        payload={"product_id": str(product.id), "fields": ["images"]},
    )
    _after_commit_invalidate(product.organization_id)


def _delete_files_after_commit(names: Iterable[str]) -> None:
    """Remove stored files once the transaction commits (never before: a rollback keeps them)."""
    names = [name for name in names if name]
    if names:
        transaction.on_commit(lambda: files_delete(names))


def files_delete(names: Iterable[str]) -> None:
    """Delete stored files; a storage that fails is logged (the rows are already gone), never raised."""
    for name in filter(None, names):
        try:
            default_storage.delete(name)
        except Exception:  # the storage's own errors (boto's, OSError): the commit already happened
            logger.exception("could not delete the stored image %s", name)


def _clamp(position: int | None, highest: int) -> int:
    return highest if position is None else max(0, min(position, highest))


# --- services ----------------------------------------------------------------------------------------


def product_image_add(
    *,
    product: Product,
    upload: Any,
    alt: str = "",
    position: int | None = None,
    actor: Any = None,
    permissions: frozenset[str] | None = None,
) -> ProductImage:
    """Store an uploaded image of the product (``change_products``); last unless ``position`` says otherwise.

    The content is checked before anything is stored; the file is stored under
    the product's row lock, and removed again if the transaction fails in here.
    """
    _authorize(actor, product.organization, "change_products", permissions)
    if len(alt) > ALT_MAX_LENGTH:
        raise ValidationError(details={"alt": [f"At most {ALT_MAX_LENGTH} characters."]})
    facts = image_inspect(upload)
    # What the storage sees (S3's Content-Type) is the detected type, never the client's claim.
    upload.content_type = facts.content_type
    with transaction.atomic():
        product = _locked(product.pk)
        images = _ordered(product)
        if len(images) >= MAX_IMAGES:
            raise Conflict(
                f"A product has at most {MAX_IMAGES} images: delete one first.",
                details={"reason": "too_many_images", "max": MAX_IMAGES},
            )
        image = ProductImage(
            organization_id=product.organization_id,
            product=product,
            alt=alt,
            width=facts.width,
            height=facts.height,
            content_type=facts.content_type,
            size_bytes=facts.size_bytes,
        )
        image.file.save("upload", upload, save=False)  # the name comes from product_image_path
        try:
            with transaction.atomic():
                image.save(force_insert=True)
                images.insert(_clamp(position, len(images)), image)
                entries = _renumber_and_sync(product, images)
                _announce(product, "product.image_added", new={"image": image_entry(image), "images": entries})
        except BaseException:
            files_delete([image.file.name or ""])
            raise
    return image


def product_image_update(
    *, image: ProductImage, data: Mapping[str, Any], actor: Any = None, permissions: frozenset[str] | None = None
) -> ProductImage:
    """Change an image's ``alt`` text or ``position`` (the others move to make room) (``change_products``)."""
    _authorize(actor, image.product.organization, "change_products", permissions)
    if len(data.get("alt") or "") > ALT_MAX_LENGTH:
        raise ValidationError(details={"alt": [f"At most {ALT_MAX_LENGTH} characters."]})
    with transaction.atomic():
        product = _locked(image.product_id)
        images = _ordered(product)
        current = next((i for i in images if i.pk == image.pk), None)
        if current is None:
            raise NotFound("Image not found.")
        before, order = image_entry(current), [i.pk for i in images]
        if "alt" in data and (data["alt"] or "") != current.alt:
            current.alt = data["alt"] or ""
            current.save(update_fields=["alt", "updated_at"])
        if data.get("position") is not None:
            images.remove(current)
            images.insert(_clamp(data["position"], len(images)), current)
        if current.alt != before["alt"] or [i.pk for i in images] != order:
            _renumber_and_sync(product, images)
            _announce(product, "product.image_updated", old={"image": before}, new={"image": image_entry(current)})
    return current


def product_image_delete(*, image: ProductImage, actor: Any = None, permissions: frozenset[str] | None = None) -> None:
    """Delete an image (``change_products``); its file goes once the deletion commits."""
    _authorize(actor, image.product.organization, "change_products", permissions)
    with transaction.atomic():
        product = _locked(image.product_id)
        images = _ordered(product)
        current = next((i for i in images if i.pk == image.pk), None)
        if current is None:
            raise NotFound("Image not found.")
        images.remove(current)
        name = current.file.name or ""
        current.delete()
        entries = _renumber_and_sync(product, images)
        _announce(product, "product.image_deleted", old={"image": image_entry(current)}, new={"images": entries})
        _delete_files_after_commit([name])


def product_images_discard(*, product: Product) -> None:
    """The product is being (soft) deleted: its images go with it, files after commit (caller's transaction)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("product_images_discard must run inside the caller's transaction.")
    images = ProductImage.objects.filter(product_id=product.pk)
    names = list(images.exclude(file="").values_list("file", flat=True))
    images.delete()
    Product.objects.filter(pk=product.pk).update(images=[])
    product.images = []
    _delete_files_after_commit(names)


def product_images_purge_files(*, products: QuerySet[Product]) -> None:
    """Before products are deleted for good (cleanup): their images' files go once that commits."""
    names = list(ProductImage.objects.filter(product__in=products).exclude(file="").values_list("file", flat=True))
    _delete_files_after_commit(names)
