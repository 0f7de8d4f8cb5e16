"""Thin views: validate input, call one service or selector, serialize the result."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet
from django.http import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts import selectors, services, throttles
from apps.accounts import serializers as s
from apps.accounts.api import cookies
from apps.accounts.errors import AuthenticationFailed
from apps.accounts.models import UserSession
from apps.accounts.throttles import client_info
from apps.accounts.tokens import token_identity
from apps.core.exceptions import ValidationError, describe_exception, error_response
from apps.core.openapi import ErrorEnvelopeSerializer


def current_session_id(request: Request) -> uuid.UUID | None:
    identity = token_identity(request.auth) if request.auth is not None else None
    return identity[1] if identity else None


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorEnvelopeSerializer, description=description)


UNAUTHORIZED_CREDENTIALS = _error("UNAUTHORIZED: wrong email or password, or the account cannot sign in.")
UNAUTHORIZED_REFRESH = _error("UNAUTHORIZED: the refresh token is invalid, expired, revoked or was already used.")


class PublicAuthView(APIView):
    """Endpoints that prove identity themselves: no bearer token is read (a stale one must not get in the way)."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]


@extend_schema(tags=["auth"])
class RegisterView(PublicAuthView):
    throttle_classes = [throttles.RegisterIPThrottle]

    @extend_schema(
        operation_id="auth_register",
        summary="Create an account",
        description="Creates an active user and mails a verification link. The answer is the same 202 whether or "
        "not the address already has an account (its owner is emailed that someone tried to sign up); each "
        "password rule that fails is listed under `password`.",
        request=s.RegisterSerializer,
        responses={202: s.RegisterAcceptedSerializer},
    )
    def post(self, request: Request) -> Response:
        data = s.RegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.user_register(**data.validated_data, client=client_info(request))
        return Response({"detail": services.REGISTRATION_ACCEPTED}, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["auth"])
class LoginView(PublicAuthView):
    throttle_classes = [throttles.LoginIPThrottle, throttles.LoginEmailThrottle]

    @extend_schema(
        operation_id="auth_login",
        summary="Sign in",
        description="Opens a session. Wrong credentials, an unknown email and an account that is not active "
        "all answer the same 401. Throttled per IP and per email.",
        request=s.RestLoginSerializer,
        responses={200: s.LoginResponseSerializer, 401: UNAUTHORIZED_CREDENTIALS},
    )
    def post(self, request: Request) -> Response:
        data = s.RestLoginSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        in_cookie = data.validated_data.pop("refresh_cookie")
        result = services.auth_login(**data.validated_data, client=client_info(request))
        body = {"access": result.tokens.access, "refresh": result.tokens.refresh, "user": result.user}
        if in_cookie:
            del body["refresh"]
        response = Response(s.LoginResponseSerializer(body).data)
        if in_cookie:
            cookies.set_refresh_cookie(request, response, result.tokens.refresh)
        return response


def _refresh_token(request: Request) -> tuple[str, bool]:
    """The refresh token from the body (non-browser clients) or the HttpOnly cookie (CSRF-checked)."""
    data = s.RefreshTokenSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    if "refresh" in data.validated_data:
        return data.validated_data["refresh"], False
    from_cookie = cookies.refresh_from_cookie(request)
    if from_cookie is None:
        raise ValidationError(details={"refresh": ["This field is required (or the refresh cookie)."]})
    return from_cookie, True


@extend_schema(tags=["auth"])
class RefreshView(PublicAuthView):
    @extend_schema(
        operation_id="auth_refresh",
        summary="Rotate the refresh token",
        description="Returns a new access and refresh token; the refresh token sent is used up. Sending a used "
        "refresh token again answers 401 and ends the whole session.",
        request=s.RefreshTokenSerializer,
        responses={200: s.TokenPairSerializer, 401: UNAUTHORIZED_REFRESH},
    )
    def post(self, request: Request) -> HttpResponseBase:
        refresh, from_cookie = _refresh_token(request)
        try:
            tokens = services.auth_refresh(refresh=refresh, client=client_info(request))
        except AuthenticationFailed as exc:
            if not from_cookie:
                raise
            failed = error_response(describe_exception(exc))
            cookies.clear_refresh_cookie(failed)  # a dead cookie goes with the 401
            return failed
        if from_cookie:
            response = Response(s.TokenPairSerializer({"access": tokens.access}).data)
            cookies.set_refresh_cookie(request, response, tokens.refresh)
            return response
        return Response(s.TokenPairSerializer({"access": tokens.access, "refresh": tokens.refresh}).data)


@extend_schema(tags=["auth"])
class LogoutView(PublicAuthView):
    @extend_schema(
        operation_id="auth_logout",
        summary="Sign out of this session",
        description="Ends the session the refresh token belongs to; its access tokens stop working at once.",
        request=s.RefreshTokenSerializer,
        responses={204: None, 401: UNAUTHORIZED_REFRESH},
    )
    def post(self, request: Request) -> Response:
        refresh, from_cookie = _refresh_token(request)
        services.auth_logout(refresh=refresh, client=client_info(request))
        response = Response(status=status.HTTP_204_NO_CONTENT)
        if from_cookie:
            cookies.clear_refresh_cookie(response)
        return response


@extend_schema(tags=["auth"])
class LogoutAllView(APIView):
    @extend_schema(
        operation_id="auth_logout_all",
        summary="Sign out everywhere",
        description="Ends every session of the current user, this one included.",
        request=None,
        responses={204: None},
    )
    def post(self, request: Request) -> Response:
        services.auth_logout_all(user=request.user, client=client_info(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["auth"])
class PasswordResetView(PublicAuthView):
    throttle_classes = [throttles.PasswordResetIPThrottle, throttles.PasswordResetEmailThrottle]

    @extend_schema(
        operation_id="auth_password_reset",
        summary="Ask for a password reset email",
        description="Always 202, whether or not the address belongs to an account. An active user gets a "
        "single-use link valid for one hour. Throttled per IP and per email.",
        request=s.PasswordResetSerializer,
        responses={202: None},
    )
    def post(self, request: Request) -> Response:
        data = s.PasswordResetSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_reset_request(email=data.validated_data["email"], client=client_info(request))
        return Response(status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["auth"])
class PasswordResetConfirmView(PublicAuthView):
    @extend_schema(
        operation_id="auth_password_reset_confirm",
        summary="Set a new password with a reset token",
        description="The token dies and every session of the user ends. An invalid, used or expired token is a "
        "VALIDATION_ERROR on `token`; failed password rules are listed under `new_password`.",
        request=s.PasswordResetConfirmSerializer,
        responses={204: None},
    )
    def post(self, request: Request) -> Response:
        data = s.PasswordResetConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_reset_confirm(**data.validated_data, client=client_info(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["auth"])
class EmailVerifyView(PublicAuthView):
    @extend_schema(
        operation_id="auth_verify_email",
        summary="Confirm the email address",
        description="Sets `email_verified_at`; the token dies. An invalid, used or expired token is a "
        "VALIDATION_ERROR on `token`.",
        request=s.EmailVerifySerializer,
        responses={204: None},
    )
    def post(self, request: Request) -> Response:
        data = s.EmailVerifySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.email_verify(token=data.validated_data["token"], client=client_info(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["auth"])
class EmailVerificationResendView(APIView):
    throttle_classes = [throttles.VerificationResendThrottle]

    @extend_schema(
        operation_id="auth_verify_email_resend",
        summary="Mail a new verification link",
        description="For the current user; the previous link stops working. 409 when already verified.",
        request=None,
        responses={202: None, 409: _error("CONFLICT: the email address is already verified.")},
    )
    def post(self, request: Request) -> Response:
        services.email_verification_request(user=request.user, client=client_info(request))
        return Response(status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["users"])
class MeView(APIView):
    @extend_schema(operation_id="users_me_retrieve", summary="The current user", responses={200: s.UserSerializer})
    def get(self, request: Request) -> Response:
        return Response(s.UserSerializer(request.user).data)

    @extend_schema(
        operation_id="users_me_partial_update",
        summary="Change the current user's profile",
        description="Only profile fields may be sent; email, status, is_staff, ids and timestamps are refused "
        "with a VALIDATION_ERROR naming them.",
        request=s.UserUpdateSerializer,
        responses={200: s.UserSerializer},
    )
    def patch(self, request: Request) -> Response:
        data = s.UserUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_update_profile(user=request.user, data=data.validated_data, client=client_info(request))
        return Response(s.UserSerializer(user).data)


@extend_schema(tags=["users"])
class PasswordChangeView(APIView):
    @extend_schema(
        operation_id="users_me_password_change",
        summary="Change the password",
        description="Needs the current password (VALIDATION_ERROR on `current_password` if wrong). Every other "
        "session ends; this one stays signed in.",
        request=s.PasswordChangeSerializer,
        responses={204: None},
    )
    def post(self, request: Request) -> Response:
        data = s.PasswordChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.user_change_password(
            user=request.user,
            **data.validated_data,
            current_session_id=current_session_id(request),
            client=client_info(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["users"])
@extend_schema_view(
    list=extend_schema(
        operation_id="users_me_sessions_list",
        summary="The current user's live sessions",
        description="Newest first; `current` marks the session making the request.",
    ),
    destroy=extend_schema(
        operation_id="users_me_sessions_destroy",
        summary="End one session",
        description="Its access tokens stop working at once. Another user's session answers 404.",
        parameters=[OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Session id.")],
        responses={204: None},
    ),
)
class MySessionViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    serializer_class = s.SessionSerializer
    queryset = UserSession.objects.none()  # for the schema; requests use the selector
    lookup_field = "id"
    lookup_value_regex = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

    def get_queryset(self) -> QuerySet[UserSession]:
        if getattr(self, "swagger_fake_view", False):
            return UserSession.objects.none()
        return selectors.session_list_live(user=self.request.user)

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context["current_session_id"] = current_session_id(self.request)
        return context

    def destroy(self, request: Request, *args: object, **kwargs: object) -> Response:
        services.session_revoke(user=request.user, session_id=str(kwargs["id"]), client=client_info(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
