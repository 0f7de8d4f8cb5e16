"""Error codes the orders app adds to the envelope."""

from apps.core.exceptions import Conflict


class InvalidTransition(Conflict):
    """The order's status does not allow this transition; ``details.allowed`` lists those that are."""

    code = "INVALID_TRANSITION"
    http_status = 409
    default_message = "This order cannot make that transition from its current status."


class NotAcceptingOrders(Conflict):
    """The organization is suspended."""

    default_message = "This organization is not accepting orders."
