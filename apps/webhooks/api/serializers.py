from rest_framework import serializers

from apps.core.fields import DateTimeField
from apps.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

EVENT_TYPES_HELP = "Event types to receive: exact ('order.created'), a prefix ('order.*'); empty or '*': all."


class WebhookEndpointInputSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=2000)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    event_types = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, max_length=100, help_text=EVENT_TYPES_HELP
    )
    is_active = serializers.BooleanField(required=False)


class WebhookEndpointOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "is_active",
            "consecutive_failures",
            "disabled_reason",
            "disabled_at",
            "previous_secret_expires_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class WebhookEndpointWithSecretOutputSerializer(WebhookEndpointOutputSerializer):
    """On create and rotate only: the signing secret, shown this once."""

    secret = serializers.CharField(read_only=True, help_text="whsec_… — store it now: it is not shown again.")

    class Meta(WebhookEndpointOutputSerializer.Meta):
        fields = [*WebhookEndpointOutputSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookReplayInputSerializer(serializers.Serializer):
    # "from"/"to" are Python keywords: declared under other names, renamed in the schema and data.
    from_ = DateTimeField(help_text="Dead letters created at or after this time.")
    to = DateTimeField(help_text="... and before this time.")

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields


class WebhookReplayOutputSerializer(serializers.Serializer):
    replayed = serializers.IntegerField()


class WebhookAttemptOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = [
            "id",
            "created_at",
            "state",
            "finished_at",
            "url",
            "status_code",
            "latency_ms",
            "succeeded",
            "error",
            "response_body",
        ]
        read_only_fields = fields


class WebhookDeliveryOutputSerializer(serializers.ModelSerializer):
    endpoint_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint_id",
            "event_id",
            "event_type",
            "status",
            "attempts",
            "next_attempt_at",
            "last_attempt_at",
            "last_status_code",
            "last_error",
            "delivered_at",
            "failed_at",
            "created_at",
        ]
        read_only_fields = fields


class WebhookDeliveryDetailOutputSerializer(WebhookDeliveryOutputSerializer):
    attempt_log = WebhookAttemptOutputSerializer(many=True, read_only=True)

    class Meta(WebhookDeliveryOutputSerializer.Meta):
        fields = [*WebhookDeliveryOutputSerializer.Meta.fields, "payload", "attempt_log"]
        read_only_fields = fields
