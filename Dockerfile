# Olympus web / worker / beat image (one image, the command picks the role).
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=olympus.settings.production

WORKDIR /app

RUN groupadd --system olympus && useradd --system --gid olympus --home /app olympus

COPY requirements/base.txt requirements/base.txt
RUN pip install -r requirements/base.txt

COPY . .

# collectstatic needs settings but no services: throwaway values for this step only.
RUN SECRET_KEY=collectstatic-only DATABASE_URL=postgresql://build@localhost/build REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput \
    && chown -R olympus:olympus /app/.data

USER olympus
EXPOSE 8000

# granian: HTTP I/O on a Rust event loop (slow or idle clients hold a socket, not a Python thread),
# WSGI in threads, headers that do not arrive within the timeout close the connection.
# WEB_WORKERS / WEB_THREADS / WEB_HEADER_READ_TIMEOUT_MS tune it (docs/when-things-fail.md).
ENV WEB_WORKERS=3 WEB_THREADS=8 WEB_HEADER_READ_TIMEOUT_MS=5000
CMD ["sh", "-c", "exec granian --interface wsgi --host 0.0.0.0 --port 8000 --http 1 --workers \"$WEB_WORKERS\" --blocking-threads \"$WEB_THREADS\" --http1-header-read-timeout \"$WEB_HEADER_READ_TIMEOUT_MS\" --respawn-failed-workers --no-ws olympus.wsgi:application"]
