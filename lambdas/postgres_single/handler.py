"""Lambda entry point: PostgreSQL single-user rotation (``lambdas.postgres_single.handler.lambda_handler``)."""

from lambdas.postgres_single.strategy import PostgresSingleUserStrategy
from lambdas.rotation import make_lambda_handler

lambda_handler = make_lambda_handler(PostgresSingleUserStrategy.kind, PostgresSingleUserStrategy.from_env)
