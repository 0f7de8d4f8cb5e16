"""Every write to webhook endpoints and deliveries, and the delivery rules (see each module).

Endpoint services are one transaction each and write their audit row inside
it. A delivery attempt is deliberately three steps: claim the due delivery
(short transaction, a lease in ``next_attempt_at``), send the request with no
transaction open (up to the timeout), record the outcome (short transaction).
A worker that dies mid-send leaves the lease to expire and the sweep retries.

Rules kept here: one delivery per event and endpoint; 2xx delivered; 410
disables the endpoint; other failures retry on ``WEBHOOK_RETRY_SCHEDULE``
(Retry-After honoured) and then dead-letter; ``WEBHOOK_DISABLE_AFTER_DEAD_LETTERS``
dead letters in a row disable the endpoint and email its owners.

The names other modules use are re-exported here.
"""

from apps.webhooks.services.delivery import (
    INTERRUPTED_ERROR,
    AttemptResult,
    retry_delay,
    webhook_deliveries_send,
    webhook_delivery_attempt,
)
from apps.webhooks.services.endpoints import (
    EDITABLE_FIELDS,
    ENDPOINT_DISABLED,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_disable,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_update,
)
from apps.webhooks.services.fanout import webhook_fan_out, webhook_ping
from apps.webhooks.services.maintenance import (
    webhook_attempts_prune,
    webhook_deliveries_replay,
    webhook_deliveries_sweep,
    webhook_delivery_replay,
)

__all__ = [
    "EDITABLE_FIELDS",
    "ENDPOINT_DISABLED",
    "INTERRUPTED_ERROR",
    "AttemptResult",
    "retry_delay",
    "webhook_attempts_prune",
    "webhook_deliveries_replay",
    "webhook_deliveries_send",
    "webhook_deliveries_sweep",
    "webhook_delivery_attempt",
    "webhook_delivery_replay",
    "webhook_endpoint_create",
    "webhook_endpoint_delete",
    "webhook_endpoint_disable",
    "webhook_endpoint_rotate_secret",
    "webhook_endpoint_update",
    "webhook_fan_out",
    "webhook_ping",
]
