# One image for the API and the worker: `ledgerbridge api` (default) or `ledgerbridge worker`.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# Dependencies first (cached while only the source changes), then the project itself.
COPY pyproject.toml README.md ./
RUN mkdir -p app connectors flows mapping sandbox && touch app/__init__.py connectors/__init__.py \
    flows/__init__.py mapping/__init__.py sandbox/__init__.py && pip install . && pip uninstall -y ledgerbridge
COPY app ./app
COPY connectors ./connectors
COPY flows ./flows
COPY mapping ./mapping
COPY sandbox ./sandbox
RUN pip install --no-deps .

FROM python:3.11-slim AS runtime
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
