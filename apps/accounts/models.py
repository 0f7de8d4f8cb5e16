from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from apps.core.models import BaseModel


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: object) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        # Deleted users keep their row (and may share the address with a new account).
        return self.exclude(status=User.Status.DELETED).get(email__iexact=username)


# Digits with the usual separators and an optional leading "+"; not a full E.164 check.
PHONE_PATTERN = r"^\+?[0-9][0-9 ().-]{5,30}$"
phone_validator = RegexValidator(PHONE_PATTERN, "Enter a phone number: digits, spaces, ( ) . - and a leading +.")


class User(BaseModel, AbstractBaseUser, PermissionsMixin):
    """A person. Email is the login, unique regardless of case among non-deleted users.

    ``status`` is the truth about whether the account may be used; ``is_active``
    (what Django's auth and admin read) mirrors it, enforced by a constraint.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Inactive"
        SUSPENDED = "suspended", "Suspended"
        DELETED = "deleted", "Deleted"

    email = models.EmailField(max_length=254)
    full_name = models.CharField(max_length=150, blank=True)
    display_name = models.CharField(max_length=150, blank=True)
    avatar_url = models.URLField(max_length=500, blank=True)
    phone = models.CharField(max_length=32, blank=True, validators=[phone_validator])
    bio = models.TextField(max_length=2000, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    email_verified_at = models.DateTimeField(null=True, blank=True)
    preferences = models.JSONField(default=dict, blank=True)
    last_active_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                condition=~models.Q(status="deleted"),
                name="accounts_user_email_ci_unique",
                violation_error_message="A user with this email already exists.",
            ),
            models.CheckConstraint(
                condition=models.Q(status="active", is_active=True)
                | (~models.Q(status="active") & models.Q(is_active=False)),
                name="accounts_user_is_active_mirrors_status",
            ),
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    def set_status(self, status: User.Status) -> None:
        self.status = status
        self.is_active = status == self.Status.ACTIVE

    @property
    def is_email_verified(self) -> bool:
        return self.email_verified_at is not None


class UserSession(BaseModel):
    """One signed-in device: a family of rotating refresh tokens.

    Access and refresh tokens carry the session id (claim ``sid``); only the
    refresh token whose jti is ``refresh_jti`` may be exchanged. Revoking the
    row stops its access tokens at once.
    """

    class RevokeReason(models.TextChoices):
        LOGOUT = "logout", "Logged out"
        LOGOUT_ALL = "logout_all", "Logged out everywhere"
        USER_REVOKED = "user_revoked", "Revoked by the user"
        PASSWORD_CHANGED = "password_changed", "Password changed"
        PASSWORD_RESET = "password_reset", "Password reset"
        REFRESH_REUSE = "refresh_reuse", "Refresh token reused"
        SUSPENDED = "suspended", "User suspended"
        ADMIN = "admin", "Revoked by staff"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sessions")
    refresh_jti = models.CharField(max_length=64, unique=True)
    user_agent = models.CharField(max_length=512, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    last_used_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=32, choices=RevokeReason.choices, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["user", "-created_at"], name="accounts_session_live_idx", condition=models.Q(revoked_at=None)
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(revoked_at=None) | ~models.Q(revoked_reason=""),
                name="accounts_session_revoked_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"session {self.id} of {self.user_id}"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class AccountToken(BaseModel):
    """A single-use secret mailed to the user (email verification, password reset).

    Only a SHA-256 of the token is stored; the raw value exists in the email alone.
    """

    class Purpose(models.TextChoices):
        EMAIL_VERIFICATION = "email_verification", "Email verification"
        PASSWORD_RESET = "password_reset", "Password reset"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="account_tokens")
    purpose = models.CharField(max_length=32, choices=Purpose.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "purpose"], name="accounts_token_purpose_idx")]

    def __str__(self) -> str:
        return f"{self.purpose} token of {self.user_id}"
