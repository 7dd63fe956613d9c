# The service image for compose: real MongoDB comes from MONGODB_URI, so the GPL-licensed
# embedded database (the 'embedded' extra) is deliberately not installed here.
FROM python:3.12-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY identity_store ./identity_store
COPY scim_facade ./scim_facade
COPY graphql_api ./graphql_api
COPY identity_service ./identity_service
RUN pip install --no-cache-dir . && useradd --system --uid 10001 identity
USER identity
EXPOSE 8000
CMD ["identity-store", "serve"]
