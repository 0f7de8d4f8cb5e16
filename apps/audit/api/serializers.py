from rest_framework import serializers

from apps.audit.models import AuditLog


class AuditLogOutputSerializer(serializers.ModelSerializer):
    actor_id = serializers.UUIDField(read_only=True, allow_null=True)
    actor_email = serializers.EmailField(source="actor.email", read_only=True, allow_null=True, default=None)

    class Meta:
        model = AuditLog
        fields = [
            "id",
            "created_at",
            "action",
            "resource_type",
            "resource_id",
            "actor_id",
            "actor_email",
            "ip",
            "user_agent",
            "request_id",
            "old_values",
            "new_values",
        ]
        read_only_fields = fields
