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

CMD ["gunicorn", "olympus.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "60"]
