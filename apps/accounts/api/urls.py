from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.accounts.api import views

router = SimpleRouter(trailing_slash=False)
router.register("users/me/sessions", views.MySessionViewSet, basename="my-session")

urlpatterns = [
    path("auth/register", views.RegisterView.as_view(), name="auth-register"),
    path("auth/login", views.LoginView.as_view(), name="auth-login"),
    path("auth/refresh", views.RefreshView.as_view(), name="auth-refresh"),
    path("auth/logout", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/logout-all", views.LogoutAllView.as_view(), name="auth-logout-all"),
    path("auth/password-reset", views.PasswordResetView.as_view(), name="auth-password-reset"),
    path("auth/password-reset/confirm", views.PasswordResetConfirmView.as_view(), name="auth-password-reset-confirm"),
    path("auth/verify-email", views.EmailVerifyView.as_view(), name="auth-verify-email"),
    path("auth/verify-email/resend", views.EmailVerificationResendView.as_view(), name="auth-verify-email-resend"),
    path("users/me", views.MeView.as_view(), name="users-me"),
    path("users/me/password", views.PasswordChangeView.as_view(), name="users-me-password"),
    *router.urls,
]
