"""Accounts: ``me``, ``register``, ``login``, ``refreshToken`` on the accounts services and throttles."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry
import strawberry_django
from strawberry.scalars import JSON
from strawberry.types import Info

from apps.accounts import serializers as rest
from apps.accounts import services, throttles
from apps.accounts.models import User
from apps.graphql.context import context_of
from apps.graphql.inputs import validated
from apps.graphql.throttles import throttle_operation


@strawberry_django.type(User, name="User", description="The signed-in user (`me`).")
class UserType:
    id: UUID
    email: str
    full_name: str
    display_name: str
    avatar_url: str
    phone: str
    bio: str
    status: str = strawberry_django.field(description="active, inactive, suspended or deleted.")
    is_staff: bool
    email_verified_at: datetime | None
    preferences: JSON
    last_login: datetime | None
    last_active_at: datetime | None
    created_at: datetime
    updated_at: datetime


@strawberry.type(description="A new access and refresh token.")
class TokenPair:
    access: str = strawberry.field(description="Bearer token for the API; lives 15 minutes by default.")
    refresh: str = strawberry.field(description="Single use: exchange it with `refreshToken`; lives 7 days.")


@strawberry.type(description="A new session: its tokens and its user.")
class AuthPayload(TokenPair):
    user: UserType


@strawberry.type(description="What `register` answers, the same for a new address and a taken one.")
class RegisterPayload:
    detail: str


@strawberry.type
class AccountsQuery:
    @strawberry.field(description="The signed-in user; UNAUTHORIZED without a valid access token.")
    def me(self, info: Info) -> UserType | None:
        return context_of(info).require_user()


@strawberry.type
class AccountsMutation:
    @strawberry.mutation(
        description="Create an account (a verification email follows). The answer is the same whether or not the "
        "address already has an account (its owner is emailed instead); each failed password rule is listed "
        "under `password`. Throttled per IP."
    )
    def register(self, info: Info, email: str, password: str, full_name: str) -> RegisterPayload | None:
        context = context_of(info)
        throttle_operation(context.request, [throttles.RegisterIPThrottle])
        data = validated(rest.RegisterSerializer, {"email": email, "password": password, "full_name": full_name})
        services.user_register(**data, client=context.client)
        return RegisterPayload(detail=services.REGISTRATION_ACCEPTED)

    @strawberry.mutation(
        description="Sign in: opens a session. Wrong credentials, an unknown email and an inactive account all "
        "answer UNAUTHORIZED. Throttled per IP and per email."
    )
    def login(self, info: Info, email: str, password: str) -> AuthPayload | None:
        context = context_of(info)
        throttle_operation(context.request, [throttles.LoginIPThrottle, throttles.LoginEmailThrottle], email=email)
        data = validated(rest.LoginSerializer, {"email": email, "password": password})
        result = services.auth_login(**data, client=context.client)
        return AuthPayload(access=result.tokens.access, refresh=result.tokens.refresh, user=result.user)

    @strawberry.mutation(
        description="Rotate the refresh token: the one sent is used up. Sending a used refresh token again "
        "answers UNAUTHORIZED and ends the whole session."
    )
    def refresh_token(self, info: Info, refresh: str) -> TokenPair | None:
        context = context_of(info)
        data = validated(rest.RefreshTokenSerializer, {"refresh": refresh})
        tokens = services.auth_refresh(refresh=data["refresh"], client=context.client)
        return TokenPair(access=tokens.access, refresh=tokens.refresh)
