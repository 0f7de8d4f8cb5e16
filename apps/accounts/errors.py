"""Error codes the accounts app adds to the envelope."""

from apps.core.exceptions import ApplicationError

INVALID_CREDENTIALS = "Invalid email or password."
INVALID_REFRESH_TOKEN = "The refresh token is invalid, expired or revoked."  # noqa: S105 - a message, not a secret
INVALID_LINK = "This link is invalid or has expired."


class AuthenticationFailed(ApplicationError):
    """Credentials or a token did not prove who the caller is (401, no detail on why)."""

    code = "UNAUTHORIZED"
    http_status = 401
    default_message = "Authentication failed."
