"""Lambda entry point: PostgreSQL alternating-users rotation (see docs/postgres.md)."""

from lambdas.postgres_alternating.strategy import PostgresAlternatingUsersStrategy
from lambdas.rotation import make_lambda_handler

lambda_handler = make_lambda_handler(PostgresAlternatingUsersStrategy.kind, PostgresAlternatingUsersStrategy.from_env)
