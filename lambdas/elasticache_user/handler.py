"""Lambda entry point: ElastiCache RBAC user rotation (``lambdas.elasticache_user.handler.lambda_handler``)."""

from lambdas.elasticache_user.strategy import ElastiCacheUserStrategy
from lambdas.rotation import make_lambda_handler

lambda_handler = make_lambda_handler(ElastiCacheUserStrategy.kind, ElastiCacheUserStrategy.from_env)
