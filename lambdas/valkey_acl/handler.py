"""Lambda entry point: Valkey/Redis ACL user rotation (``lambdas.valkey_acl.handler.lambda_handler``)."""

from lambdas.rotation import make_lambda_handler
from lambdas.valkey_acl.strategy import ValkeyAclStrategy

lambda_handler = make_lambda_handler(ValkeyAclStrategy.kind, ValkeyAclStrategy.from_env)
