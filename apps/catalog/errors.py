from apps.core.exceptions import ApplicationError


class InsufficientStock(ApplicationError):
    """Stock would go below zero for a product that does not sell on backorder."""

    code = "INSUFFICIENT_STOCK"
    http_status = 409
    default_message = "Not enough stock."


class ImageTooLarge(ApplicationError):
    """An uploaded product image is larger than ``PRODUCT_IMAGE_MAX_BYTES``."""

    code = "PAYLOAD_TOO_LARGE"
    http_status = 413
    default_message = "The image is too large."
