"""Consumer library: read rotated secrets and accept AWSCURRENT and AWSPREVIOUS while clients refresh."""

from .hmac_keyring import HmacKeyring, InvalidSignatureError, SignatureFormatError

__all__ = ["HmacKeyring", "InvalidSignatureError", "SignatureFormatError"]
