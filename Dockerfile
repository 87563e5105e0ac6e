# syntax=docker/dockerfile:1
# ispcore API / worker image. Build: docker build -t ispcore .
# Run:  docker run -p 8000:8000 ispcore            (embedded: SQLite in /data, jobs in-process)
#       docker compose up                           (scaled: PostgreSQL + Redis + api + worker)
#       docker run -p 1812-1813:1812-1813/udp -e ISPCORE_DATABASE_URL=… -e ISPCORE_VAULT_KEY=… \
#         ispcore radius                            (the built-in RADIUS server)
#       docker run -p 2055:2055/udp -p 9158:9158 -e ISPCORE_DATABASE_URL=… \
#         ispcore netflow                           (the NetFlow/IPFIX collector, /metrics on 9158)

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install .

FROM python:3.11-slim-bookworm AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ISPCORE_RESOURCE_DIR=/app \
    ISPCORE_HOST=0.0.0.0 \
    ISPCORE_PORT=8000 \
    ISPCORE_DATABASE_URL=sqlite+aiosqlite:////data/ispcore.db
# Pango, HarfBuzz and fonts for WeasyPrint (invoice PDFs).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
    libharfbuzz-subset0 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system ispcore \
 && useradd --system --gid ispcore --home-dir /data --no-create-home ispcore \
 && mkdir -p /data /app \
 && chown ispcore:ispcore /data
COPY --from=build /opt/venv /opt/venv
COPY migrations /app/migrations
COPY graphiql/dist /app/graphiql/dist
USER ispcore
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000 1812/udp 1813/udp 2055/udp 9158
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s \
  CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)" || exit 1
ENTRYPOINT ["ispcore"]
CMD ["serve"]
