#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "olympus.settings.dev")
    from olympus.bootstrap import ensure_services

    ensure_services()  # embedded PostgreSQL / Redis for unset URLs (development only)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
