"""Lambda entry point for HMAC signing-key rotation (``lambdas.hmac_key.handler.lambda_handler``)."""

from lambdas.hmac_key.strategy import HmacKeyStrategy
from lambdas.rotation import make_lambda_handler

lambda_handler = make_lambda_handler(HmacKeyStrategy.kind, HmacKeyStrategy.from_env)
