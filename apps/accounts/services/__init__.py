"""Every write of the accounts app: keyword-only functions, one transaction each.

Split by idea (users, sessions, emailed tokens); import them from here.
"""

from apps.accounts.events import ClientInfo
from apps.accounts.services.sessions import (
    LoginResult,
    TokenPair,
    auth_login,
    auth_logout,
    auth_logout_all,
    auth_refresh,
    normalize_email,
    session_revoke,
    session_start,
    session_touch,
    user_sessions_revoke,
)
from apps.accounts.services.tokens import (
    account_token_issue,
    accounts_purge,
    email_verify,
    password_reset_confirm,
    password_reset_request,
    token_lifetime,
)
from apps.accounts.services.users import (
    PROFILE_FIELDS,
    REGISTRATION_ACCEPTED,
    email_verification_request,
    password_rule_failures,
    user_change_password,
    user_reactivate,
    user_register,
    user_suspend,
    user_update_profile,
)

__all__ = [
    "PROFILE_FIELDS",
    "REGISTRATION_ACCEPTED",
    "ClientInfo",
    "LoginResult",
    "TokenPair",
    "account_token_issue",
    "accounts_purge",
    "auth_login",
    "auth_logout",
    "auth_logout_all",
    "auth_refresh",
    "email_verification_request",
    "email_verify",
    "normalize_email",
    "password_reset_confirm",
    "password_reset_request",
    "password_rule_failures",
    "session_revoke",
    "session_start",
    "session_touch",
    "token_lifetime",
    "user_change_password",
    "user_reactivate",
    "user_register",
    "user_sessions_revoke",
    "user_suspend",
    "user_update_profile",
]
