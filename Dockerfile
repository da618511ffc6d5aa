# escalator's worker, receiver and CLI in one image; docker-compose.yml picks
# the command (`worker`, `receiver`, `temporal register-search-attributes`).
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ESCALATOR_STATE_DIR=/var/lib/escalator

WORKDIR /src
# Metadata first, then the packages: code edits do not invalidate other layers' caches.
COPY pyproject.toml README.md ./
COPY escalator ./escalator
RUN pip install . && rm -rf /src/build

RUN useradd --system --create-home --home-dir /var/lib/escalator escalator
USER escalator
WORKDIR /var/lib/escalator

ENTRYPOINT ["escalator"]
CMD ["--help"]
