"""Local development: debug on, a fixed insecure key unless one is given."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="dev-insecure-olympus-key-change-me-in-production-0123456789")

# GraphQL: introspection and the GraphiQL page for local exploration.
GRAPHQL_INTROSPECTION = env.bool("GRAPHQL_INTROSPECTION", default=True)
GRAPHQL_GRAPHIQL = DEBUG
