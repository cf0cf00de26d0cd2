"""Lambda entry point: ElastiCache AUTH token rotation (``lambdas.elasticache_auth_token.handler``)."""

from lambdas.elasticache_auth_token.strategy import ElastiCacheAuthTokenStrategy
from lambdas.rotation import make_lambda_handler

lambda_handler = make_lambda_handler(ElastiCacheAuthTokenStrategy.kind, ElastiCacheAuthTokenStrategy.from_env)
