from django.apps import AppConfig


class GraphQLConfig(AppConfig):
    name = "apps.graphql"
    label = "olympus_graphql"  # "graphql" would read as the graphql-core library
    verbose_name = "GraphQL API"
