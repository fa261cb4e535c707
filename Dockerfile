# syntax=docker/dockerfile:1
# The Spotify Analytics Pipeline image: the lakehouse server, the scheduler (cron), dbt docs and one-off
# commands all run from it (docker-compose.yml). Build: docker compose build
FROM python:3.11.13-slim-bookworm

# Same uv as the Makefile; the uid/gid of `app` should own ./data on the host (default 1000).
ARG UV_VERSION=0.13.9
ARG APP_UID=1000
ARG APP_GID=1000

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PROJECT_DIR=/app \
    DATA_DIR=/app/data \
    DBT_PROFILES_DIR=/app

# Java 17 for Spark; cron for the scheduler service; procps for ps in a shell. pam_loginuid cannot set
# the login uid in an unprivileged container, which would stop cron from starting any job: make it optional.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        openjdk-17-jre-headless cron procps \
    && rm -rf /var/lib/apt/lists/* \
    && sed -i 's/^session\s\+required\s\+pam_loginuid\.so/session optional pam_loginuid.so/' /etc/pam.d/cron

RUN groupadd --gid "${APP_GID}" app \
    && useradd --uid "${APP_UID}" --gid app --create-home --home-dir /home/app --shell /bin/sh app

# Pinned dependencies from the same lock file as `make setup`, installed with uv like the Makefile does,
# bytecode compiled at install (PYTHONDONTWRITEBYTECODE would otherwise make every dbt start recompile it).
COPY requirements.lock /tmp/requirements.lock
RUN python -m venv /opt/venv \
    && /opt/venv/bin/python -m pip install --no-cache-dir --disable-pip-version-check "uv==${UV_VERSION}" \
    && uv pip install --no-cache --compile-bytecode --python /opt/venv/bin/python -r /tmp/requirements.lock

WORKDIR /app
COPY --chown=app:app . /app
# The project (with its console script `spotify-analytics`) and the dbt adapter plugin, without touching the
# pinned dependencies.
RUN uv pip install --no-cache --compile-bytecode --python /opt/venv/bin/python --no-deps /app /app/adapter \
    && mkdir -p /app/data && chown app:app /app/data

USER app
# The Delta jars and hive-llap-common into the project-local Ivy cache now, so containers start without the network.
RUN spotify-analytics server fetch-jars

VOLUME ["/app/data"]
EXPOSE 10000 15002 8080
HEALTHCHECK --interval=30s --timeout=15s --start-period=180s --retries=3 \
    CMD ["spotify-analytics", "server", "status"]
CMD ["spotify-analytics", "--help"]
