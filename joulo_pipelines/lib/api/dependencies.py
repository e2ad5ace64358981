"""What every route of the partner API depends on: the app's data dir and settings, and the caller (the
partner whose API key came with the request, within its rate limit)."""

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from joulo_pipelines.lib.api import keys, store
from joulo_pipelines.lib.api.delivery import RetryPolicy
from joulo_pipelines.lib.api.models import Problem
from joulo_pipelines.lib.partners import load_registry
from joulo_pipelines.lib.paths import DataDir


@dataclass(frozen=True)
class ApiSettings:
    rate_limit: str = "120/minute"
    max_body_bytes: int = 256 * 1024
    # A document upload (MID evidence: a PDF or a photo) is larger than any JSON request.
    max_upload_bytes: int = 11 * 1024 * 1024
    # Development and tests: webhooks may be http and go to loopback (never to other private networks).
    # Otherwise https to public addresses only: the API would else POST into our network on a partner's say-so.
    allow_http_webhooks: bool = False
    deliver_webhooks: bool = True
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    poll_seconds: float = 1.0


@dataclass(frozen=True)
class Caller:
    partner_id: str
    key_id: str


ERRORS = {401: {"model": Problem, "description": "No valid API key."},
          413: {"model": Problem, "description": "Request body too large."},
          429: {"model": Problem, "description": "Rate limit; see Retry-After."}}
CustomerRef = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer jk_...`: the partner's API key.")


def data_dir(request: Request) -> DataDir:
    return request.app.state.data_dir


def settings(request: Request) -> ApiSettings:
    return request.app.state.settings


def caller(request: Request,
           credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Caller:
    unauthorised = HTTPException(401, "a valid API key is required: Authorization: Bearer <key>",
                                 headers={"WWW-Authenticate": "Bearer"})
    if credentials is None:
        raise unauthorised
    folder = data_dir(request)
    with store.connect(folder) as con:
        key = keys.authenticate(con, credentials.credentials)
    if key is None or key.partner_id not in load_registry(folder.partners_file).ids:
        raise unauthorised
    request.state.key_id = key.key_id
    wait = request.app.state.limiter.retry_after(key.key_id)
    if wait is not None:
        raise HTTPException(429, f"rate limit {settings(request).rate_limit} per key exceeded",
                            headers={"Retry-After": str(wait)})
    return Caller(key.partner_id, key.key_id)


Authenticated = Annotated[Caller, Depends(caller)]
Folder = Annotated[DataDir, Depends(data_dir)]
Settings = Annotated[ApiSettings, Depends(settings)]


def not_found(kind: str, ref: str) -> HTTPException:
    return HTTPException(404, f"no {kind} {ref!r} for this key")
