"""A CPO's OCPI 2.2.1 `cdrs` endpoint built on extrawest-ocpi (PyPI `extrawest-ocpi`, import `py_ocpi`), a
server the project's authors did not write. It runs in its own virtualenv (.venv-ocpi-reference: the
library pins pydantic 1.x) under uvicorn, started by tests/test_ocpi_reference_server.py.

Routing, the response envelope, Token authentication (base64 per 2.2.1) and the pagination headers (Link,
X-Total-Count, X-Limit) are the library's. Ours is only the data side the library leaves to its user: a
Crud that lists the CDRs of a JSON file (filtered on last_updated, one page at offset/limit), an
Authenticator that knows one token, and an Adapter that shapes each CDR with the library's own model.

Environment: OCPI_REFERENCE_CDRS (the JSON file, a list of CDRs), OCPI_REFERENCE_TOKEN (the credentials
token C the client must present), and the library's own OCPI_HOST (host:port its Link headers point at).
"""

import json
import os
from datetime import datetime, timezone

from py_ocpi import get_application
from py_ocpi.core.adapter import BaseAdapter
from py_ocpi.core.authentication.authenticator import Authenticator
from py_ocpi.core.crud import Crud
from py_ocpi.core.data_types import CiString
from py_ocpi.core.enums import ModuleID, RoleEnum
from py_ocpi.modules.cdrs.v_2_2_1.schemas import Cdr, CdrLocation
from py_ocpi.modules.versions.enums import VersionNumber


class CdrLocation221(CdrLocation):
    """The library's CdrLocation lacks `evse_uid`, which OCPI 2.2.1 requires (mod_cdrs 14.4: "Uniquely
    identifies the EVSE within the CPO's platform"); without it a pydantic 1 model drops the field."""

    evse_uid: CiString(36)  # type: ignore


class Cdr221(Cdr):
    cdr_location: CdrLocation221


def _utc(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)


def _load_cdrs() -> list[dict]:
    with open(os.environ["OCPI_REFERENCE_CDRS"], encoding="utf-8") as handle:
        return sorted(json.load(handle), key=lambda cdr: (cdr["last_updated"], cdr["id"]))


class FileCrud(Crud):
    """Lists the file's CDRs: last_updated in [date_from, date_to) per the 2.2.1 Sender interface."""

    @classmethod
    async def list(cls, module, role, filters, *args, **kwargs):
        if module != ModuleID.cdrs or role != RoleEnum.cpo:
            return [], 0, True
        date_from, date_to = filters["date_from"], filters["date_to"]
        selected = [cdr for cdr in _load_cdrs()
                    if (date_from is None or _utc(cdr["last_updated"]) >= date_from)
                    and (date_to is None or _utc(cdr["last_updated"]) < date_to)]
        offset, limit = filters["offset"], filters["limit"]
        return selected[offset:offset + limit], len(selected), offset + limit >= len(selected)

    @classmethod
    async def get(cls, module, role, id, *args, **kwargs):
        return next((cdr for cdr in _load_cdrs() if cdr["id"] == id), None)

    # The cdrs Sender interface is read-only: nothing creates, changes or deletes through it.
    @classmethod
    async def create(cls, module, role, data, *args, **kwargs):
        raise NotImplementedError

    @classmethod
    async def update(cls, module, role, data, id, *args, **kwargs):
        raise NotImplementedError

    @classmethod
    async def delete(cls, module, role, id, *args, **kwargs):
        raise NotImplementedError

    @classmethod
    async def do(cls, module, role, action, *args, data=None, **kwargs):
        raise NotImplementedError


class OneTokenAuthenticator(Authenticator):
    @classmethod
    async def get_valid_token_c(cls) -> list[str]:
        return [os.environ["OCPI_REFERENCE_TOKEN"]]

    @classmethod
    async def get_valid_token_a(cls) -> list[str]:
        return []


class CdrAdapter(BaseAdapter):
    @classmethod
    def cdr_adapter(cls, data: dict, version: VersionNumber = VersionNumber.latest):
        return Cdr221(**data)


app = get_application(
    version_numbers=[VersionNumber.v_2_2_1],
    roles=[RoleEnum.cpo],
    crud=FileCrud,
    modules=[ModuleID.cdrs],
    authenticator=OneTokenAuthenticator,
    adapter=CdrAdapter,
)
