"""The squeezelab Python SDK: a typed HTTP client and an outage-proof metric buffer."""

from client.buffer import MetricBuffer
from client.client import Client
from client.errors import (
    ApiConnectionError,
    ApiError,
    AuthError,
    ConflictError,
    FieldError,
    NotFoundError,
    SqueezelabError,
    ValidationError,
)
from client.models import MetricPoint, Page
from client.transport import RetryPolicy

__all__ = ["ApiConnectionError", "ApiError", "AuthError", "Client", "ConflictError",
           "FieldError", "MetricBuffer", "MetricPoint", "NotFoundError", "Page", "RetryPolicy",
           "SqueezelabError", "ValidationError"]
