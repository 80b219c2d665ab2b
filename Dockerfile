# Production image: gunicorn serving the app, the same image runs the worker and beat.
# Mirrors what CI runs: install requirements.txt, collectstatic with DEBUG off, gunicorn.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    EQMS_VAR_DIR=/app/var

# unixODBC for pyodbc, libltdl7 for mssql-python's bundled ODBC Driver 18 (SQL Server),
# the MariaDB client library for mysqlclient (MySQL/MariaDB sync connections).
RUN apt-get update \
    && apt-get install -y --no-install-recommends unixodbc libltdl7 libmariadb3 \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 eqms
WORKDIR /app

COPY requirements.txt requirements-mysql.txt ./
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential pkg-config libmariadb-dev \
    && pip install -r requirements.txt -r requirements-mysql.txt \
    && apt-get purge -y build-essential pkg-config libmariadb-dev && apt-get autoremove -y \
    && rm -rf /var/lib/apt/lists/*

COPY . .
# A throwaway key: collectstatic needs settings to load, the image must not carry a secret.
RUN DEBUG=false SECRET_KEY=build-only-collectstatic-key-not-used-at-runtime-0123456789 \
    python manage.py collectstatic --noinput --verbosity 0 \
    && mkdir -p /app/var && chown -R eqms:eqms /app/var

USER eqms
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
CMD ["gunicorn", "eqms_integration.wsgi:application", "--bind", "0.0.0.0:8000", \
     "--workers", "3", "--access-logfile", "-", "--no-control-socket"]
