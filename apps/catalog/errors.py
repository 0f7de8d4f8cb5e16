from apps.core.exceptions import ApplicationError


class InsufficientStock(ApplicationError):
    """Stock would go below zero for a product that does not sell on backorder."""

    code = "INSUFFICIENT_STOCK"
    http_status = 409
    default_message = "Not enough stock."
