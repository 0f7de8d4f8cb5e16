from django.core.management.base import BaseCommand, CommandError

from apps.graphql.export import SCHEMA_FILE, schema_is_current, schema_sdl


class Command(BaseCommand):
    help = "Write the GraphQL schema (SDL) to schema.graphql at the repository root; --check only compares."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Fail if schema.graphql is out of date.")

    def handle(self, *args, check: bool = False, **options):
        if check:
            if not schema_is_current():
                raise CommandError(f"{SCHEMA_FILE.name} is out of date: run `python manage.py graphql_schema`.")
            self.stdout.write(f"{SCHEMA_FILE.name} is up to date.")
            return
        SCHEMA_FILE.write_text(schema_sdl())
        self.stdout.write(f"Wrote {SCHEMA_FILE}.")
