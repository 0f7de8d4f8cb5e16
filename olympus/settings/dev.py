"""Local development: debug on; the key is this checkout's own (``.data/secrets.json``) unless one is given."""

from olympus import local_secrets

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
# No key in the repository signs anything: each checkout generates its own on first use (issue 15).
SECRET_KEY = env.str("SECRET_KEY", default="") or local_secrets.load_or_create()["SECRET_KEY"]

# GraphQL: introspection and the GraphiQL page for local exploration.
GRAPHQL_INTROSPECTION = env.bool("GRAPHQL_INTROSPECTION", default=True)
GRAPHQL_GRAPHIQL = DEBUG
