# Production image: the same code as development, configured by environment variables (.env.example).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv UV_PYTHON_DOWNLOADS=never PATH=/opt/venv/bin:$PATH
RUN apt-get update && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
    && rm -rf /var/lib/apt/lists/* && pip install --no-cache-dir uv==0.13.8 \
    && useradd --system --uid 1000 --home /app registry

WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
RUN REGISTRY_ENV=development DATABASE_URL=postgresql://build@localhost/build SECRET_KEY=build-only \
    python manage.py collectstatic --noinput --settings=registry.settings || true

USER registry
EXPOSE 8000
CMD ["gunicorn", "registry.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "4", "--timeout", "60"]
