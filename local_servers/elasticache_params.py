"""Refuse ElastiCache requests whose parameters the service model rejects.

moto's ElastiCache parses a request by botocore's service model and ignores what does not
fit: an unknown parameter, ``ApplyImmediately=maybe``, a third password. The real service
refuses them. Every request the emulation handles is checked here first, against the same
model botocore ships (so it holds for requests through moto's server too, where no client
validated anything), with the error codes of AWS's common errors
(https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/CommonErrors.html):

- a parameter the operation does not have: ``InvalidQueryParameter`` (the documentation does
  not say what the service does with one; the stricter reading is to refuse it);
- a required parameter missing: ``MissingParameter``;
- a value of the wrong type, too short or too long, off its pattern or its enum:
  ``InvalidParameterValue`` (botocore's own validator checks type, required and minimums;
  maximums, patterns and enums are checked here from the same model).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from typing import Any

import botocore.session
from botocore.model import ServiceModel, Shape, StructureShape
from botocore.validate import ParamValidator
from moto.elasticache.exceptions import ElastiCacheException, InvalidParameterValueException

_QUERY_ENVELOPE = {"Action", "Version"}


class MissingParameter(ElastiCacheException):
    code = "MissingParameter"


class InvalidQueryParameter(ElastiCacheException):
    code = "InvalidQueryParameter"


@functools.cache
def service_model() -> ServiceModel:
    """botocore's ElastiCache model: what the service accepts, per operation."""
    return botocore.session.get_session().get_service_model("elasticache")


def _serialized_name(name: str, member: Shape) -> str:
    return str(member.serialization.get("name", name))


def _check_raw_keys(operation: str, shape: StructureShape, raw: Mapping[str, Any]) -> None:
    members = {_serialized_name(name, member): member for name, member in shape.members.items()}
    for key, value in raw.items():
        top = key.split(".", 1)[0]
        if top in _QUERY_ENVELOPE:
            continue
        member = members.get(top)
        if member is None:
            raise InvalidQueryParameter(f"{operation} has no parameter {top!r}")
        text = value[0] if isinstance(value, list) else value
        if member.type_name == "boolean" and key == top and str(text).lower() not in ("true", "false"):
            raise InvalidParameterValueException(f"{top} must be true or false")
        if member.type_name in ("integer", "long") and key == top and not re.fullmatch(r"-?\d+", str(text)):
            raise InvalidParameterValueException(f"{top} must be an integer")


def _strings(value: Any, shape: Shape, path: str) -> Iterator[tuple[str, str, Shape]]:
    """Every string in ``value`` with its path and shape."""
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                yield from _strings(value[name], member, f"{path}.{name}" if path else name)
    elif shape.type_name == "list" and isinstance(value, list):
        member_shape = getattr(shape, "member")  # noqa: B009 - ListShape's member, untyped in stubs
        for index, item in enumerate(value, start=1):
            yield from _strings(item, member_shape, f"{path}.member.{index}")
    elif shape.type_name == "string" and isinstance(value, str):
        yield path, value, shape


def _check_constraints(value: dict[str, Any], shape: StructureShape) -> None:
    for path, text, string_shape in _strings(value, shape, ""):
        metadata = string_shape.metadata
        if "max" in metadata and len(text) > metadata["max"]:
            raise InvalidParameterValueException(f"{path} must be at most {metadata['max']} characters")
        pattern = metadata.get("pattern")
        if pattern and not re.fullmatch(pattern, text):
            raise InvalidParameterValueException(f"{path} must match {pattern}")
        enum = string_shape.enum
        if enum and text not in enum:
            raise InvalidParameterValueException(f"{path} must be one of {', '.join(enum)}")
    for name, member in shape.members.items():
        too_many = member.type_name == "list" and len(value.get(name, ())) > member.metadata.get("max", 10**9)
        if too_many:
            raise InvalidParameterValueException(f"{name} takes at most {member.metadata['max']} items")


def validate_request(operation: str, raw: Mapping[str, Any], parsed: dict[str, Any]) -> None:
    """Refuse the request as the service would, or return: ``raw`` is the query string as sent,
    ``parsed`` what moto made of it."""
    shape = service_model().operation_model(operation).input_shape
    assert isinstance(shape, StructureShape)
    _check_raw_keys(operation, shape, raw)
    report = ParamValidator().validate(parsed, shape)
    if report.has_errors():
        text = report.generate_report()
        if "Missing required parameter" in text:
            raise MissingParameter(text)
        raise InvalidParameterValueException(text)
    _check_constraints(parsed, shape)
