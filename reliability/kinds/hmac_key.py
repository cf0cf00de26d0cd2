"""HMAC signing keys: "authenticates" means a receiver that reads the secret's stages accepts
a signature made with the value."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any

from lambdas.hmac_key.handler import lambda_handler
from reliability.consumers import Consumer, HmacConsumer, cache_client
from reliability.harness import KindHarness
from secret_rotation_kit import HmacKeyring, InvalidSignatureError

BODY = b'{"event":"soak"}'


class HmacKeyHarness(KindHarness):
    kind = "hmac_key"
    handler = staticmethod(lambda_handler)

    def create_secret(self, client: Any, name: str) -> str:
        value = {"key": secrets.token_hex(32), "issuer": "fault-suite-issuer"}
        return str(client.create_secret(Name=name, SecretString=json.dumps(value))["ARN"])

    def authenticates(self, client: Any, secret_arn: str, value: dict[str, Any]) -> bool:
        signature = hmac.new(bytes.fromhex(value["key"]), BODY, hashlib.sha256).hexdigest()
        try:
            HmacKeyring.from_secrets_manager(client, secret_arn).verify(BODY, signature)
        except InvalidSignatureError:
            return False
        return True

    def consumer(self, cache: Any, secret_arn: str) -> Consumer:
        return HmacConsumer(cache, secret_arn, cache_client(cache))

    def client_request(self, client: Any, secret_arn: str) -> None:
        sender = json.loads(client.get_secret_value(SecretId=secret_arn)["SecretString"])
        if not self.authenticates(client, secret_arn, sender):
            raise InvalidSignatureError("a signature made with AWSCURRENT was rejected")
