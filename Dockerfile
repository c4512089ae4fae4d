# Clickmeter's image: the Procfile's processes (web, worker, beat, release) from one image, as a
# non-root user. Built by `docker build -t clickmeter .`; run by compose.yaml (docs/deploy.md).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/venv/bin:$PATH \
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/data/media \
    PORT=8000

WORKDIR /app
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin clickmeter \
    && mkdir -p /data/media && chown clickmeter /data/media

# The locked runtime requirements, each checked against its hash: the install step `make` runs too.
COPY requirements/base.txt requirements/base.txt
COPY scripts/install-requirements scripts/install-requirements
RUN scripts/install-requirements /venv base

COPY . .
# Static files under their content's hash, with gzip and brotli copies (WhiteNoise serves them).
RUN SECRET_KEY=collectstatic-only DEBUG=false python manage.py collectstatic --noinput -v0

USER clickmeter
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["python", "scripts/healthcheck.py"]
CMD ["gunicorn", "config.wsgi", "-c", "config/gunicorn.py"]
