import os

from django.core.asgi import get_asgi_application

from olympus.bootstrap import ensure_services

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "olympus.settings.dev")
ensure_services()  # development: embedded services for unset URLs; production: nothing

application = get_asgi_application()
