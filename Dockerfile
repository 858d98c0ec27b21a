# syntax=docker/dockerfile:1
# One image for both roles: `ledgerbridge api` (default) and `ledgerbridge worker` (docker-compose.yml).
#
# Targets:
#   runtime (default)  production: the app and its locked dependencies; no simulators, no pip, no dev tools.
#   demo               runtime + the simulators (`sandbox/`, the `demo` extra) + redis-server: `ledgerbridge demo`.
#
# Reproducible: the base image is pinned by digest, and every Python package is installed from the hashed lock files
# in requirements/ (`make lock` regenerates them with uv; pip refuses anything whose hash differs).
# The digest is the multi-architecture index of python:3.11.14-slim-bookworm, as pinned by several public projects
# (no registry is reachable where this file was written); before a release, check it with
# `docker buildx imagetools inspect python:3.11.14-slim-bookworm` and update PYTHON_IMAGE with the digest it shows.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
# Dependencies first (a cached layer while only the source changes), hash-checked, wheels only.
RUN python -m venv /opt/venv
COPY requirements/app.txt requirements/build.txt requirements/
RUN /opt/venv/bin/pip install --require-hashes --only-binary=:all: --no-deps -r requirements/app.txt
# The project as a wheel, built with the locked build backend, without the simulators.
RUN python -m venv /opt/build \
    && /opt/build/bin/pip install --require-hashes --only-binary=:all: --no-deps -r requirements/build.txt
COPY pyproject.toml README.md ./
COPY app ./app
COPY connectors ./connectors
COPY flows ./flows
COPY mapping ./mapping
RUN /opt/build/bin/pip wheel --no-deps --no-build-isolation --wheel-dir /wheels . \
    && /opt/venv/bin/pip install --no-deps /wheels/*.whl \
    && /opt/venv/bin/python -m pip uninstall --yes pip setuptools

FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
RUN groupadd --system app && useradd --system --gid app --home /home/app --create-home app
COPY --from=build /opt/venv /opt/venv
USER app
WORKDIR /home/app
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health/live', timeout=4).status == 200 else 1)"
ENTRYPOINT ["ledgerbridge"]
CMD ["api", "--host", "0.0.0.0", "--port", "8000"]

# The demo: `docker build --target demo -t ledgerbridge:demo . && docker run --rm -p 8000:8000 ledgerbridge:demo`.
FROM build AS demo-build
COPY requirements/demo.txt requirements/
COPY sandbox ./sandbox
# A fresh venv at the same path as in production (scripts name their interpreter by absolute path).
RUN rm -rf /opt/venv && python -m venv /opt/venv \
    && /opt/venv/bin/pip install --require-hashes --only-binary=:all: --no-deps -r requirements/demo.txt \
    && /opt/build/bin/pip wheel --no-deps --no-build-isolation --wheel-dir /demo-wheels . \
    && /opt/venv/bin/pip install --no-deps /demo-wheels/*.whl \
    && /opt/venv/bin/python -m pip uninstall --yes pip setuptools

FROM ${PYTHON_IMAGE} AS demo
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
RUN apt-get update \
    && apt-get install --yes --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system app && useradd --system --gid app --home /home/app --create-home app
COPY --from=demo-build /opt/venv /opt/venv
USER app
WORKDIR /home/app
EXPOSE 8000
ENTRYPOINT ["ledgerbridge"]
CMD ["demo", "--host", "0.0.0.0", "--port", "8000", "--log-file", "-"]
