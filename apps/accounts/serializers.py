"""Input and output serializers of the accounts API, kept apart. They translate; services decide."""

from __future__ import annotations

import json
from typing import Any

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from apps.accounts.models import PHONE_PATTERN, User, UserSession

PASSWORD_MAX_LENGTH = 256  # hashing arbitrarily long input is a denial-of-service vector
PREFERENCES_MAX_BYTES = 16 * 1024


class PasswordField(serializers.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", PASSWORD_MAX_LENGTH)
        kwargs["write_only"] = True
        kwargs["trim_whitespace"] = False
        kwargs["style"] = {"input_type": "password"}
        super().__init__(**kwargs)


# --- output -----------------------------------------------------------------------------------


class UserSerializer(serializers.ModelSerializer):
    preferences = serializers.DictField(read_only=True, help_text="Free-form client preferences (a JSON object).")

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "full_name",
            "display_name",
            "avatar_url",
            "phone",
            "bio",
            "status",
            "is_staff",
            "email_verified_at",
            "preferences",
            "last_login",
            "last_active_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField(help_text="Bearer token for the API; lives 15 minutes by default.")
    refresh = serializers.CharField(
        required=False,
        help_text="Exchange at auth/refresh for a new pair; single use, lives 7 days by default. Absent when "
        "the refresh token travels in the HttpOnly cookie (browser clients).",
    )


class LoginResponseSerializer(TokenPairSerializer):
    user = UserSerializer()


class SessionSerializer(serializers.ModelSerializer):
    current = serializers.SerializerMethodField(help_text="True for the session making this request.")

    class Meta:
        model = UserSession
        fields = ["id", "created_at", "last_used_at", "expires_at", "ip_address", "user_agent", "current"]
        read_only_fields = fields

    @extend_schema_field(serializers.BooleanField())
    def get_current(self, session: UserSession) -> bool:
        return session.id == self.context.get("current_session_id")


# --- input ------------------------------------------------------------------------------------


class RegisterSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = PasswordField(
        help_text=(
            "At least 8 characters with an upper-case letter, a lower-case letter, a digit and a symbol; "
            "not too close to the email or name, not a common password."
        )
    )
    full_name = serializers.CharField(max_length=150)


class RegisterAcceptedSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="The same for a new address and one that already has an account.")


class LoginSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = PasswordField()


# The documented shape is "Login" (clients generated from the schema get LoginRequest).
@extend_schema_serializer(component_name="Login")
class RestLoginSerializer(LoginSerializer):
    """REST's login: browser clients may ask for the refresh token in a cookie."""

    refresh_cookie = serializers.BooleanField(
        default=False,
        write_only=True,
        help_text="Browser clients: set the refresh token as an HttpOnly, Secure, SameSite=Strict cookie "
        "limited to the auth endpoints instead of returning it in the body.",
    )


class RefreshTokenSerializer(serializers.Serializer):
    refresh = serializers.CharField(
        max_length=4096,
        write_only=True,
        required=False,
        help_text="The refresh token; leave it out to use the HttpOnly cookie set at login (then the "
        "X-CSRFToken header must echo the csrftoken cookie).",
    )


class UserUpdateSerializer(serializers.Serializer):
    """Profile fields only; any other key (email, status, is_staff, id, ...) is refused."""

    openapi_extra = {"additionalProperties": False}

    full_name = serializers.CharField(max_length=150, allow_blank=True, required=False)
    display_name = serializers.CharField(max_length=150, allow_blank=True, required=False)
    avatar_url = serializers.URLField(max_length=500, allow_blank=True, required=False)
    phone = serializers.RegexField(PHONE_PATTERN, max_length=32, allow_blank=True, required=False)
    bio = serializers.CharField(max_length=2000, allow_blank=True, required=False, trim_whitespace=False)
    preferences = serializers.DictField(
        required=False, help_text="Replaces the stored preferences object as a whole (max 16 KiB)."
    )

    def validate_preferences(self, value: dict[str, Any]) -> dict[str, Any]:
        if len(json.dumps(value)) > PREFERENCES_MAX_BYTES:
            raise serializers.ValidationError("Preferences are limited to 16 KiB.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        refused = sorted(set(self.initial_data) - set(self.fields))
        if refused:
            raise serializers.ValidationError({field: ["This field cannot be changed."] for field in refused})
        return attrs


class PasswordChangeSerializer(serializers.Serializer):
    current_password = PasswordField()
    new_password = PasswordField()


class PasswordResetSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class PasswordResetConfirmSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=200, write_only=True)
    new_password = PasswordField()


class EmailVerifySerializer(serializers.Serializer):
    token = serializers.CharField(max_length=200, write_only=True)
