"""/v1/quarters: the partner's totals for a quarter the pipeline has built."""

import json
from typing import Annotated

from fastapi import APIRouter, Path

from joulo_pipelines.lib.api import store
from joulo_pipelines.lib.api.dependencies import Authenticated, Folder, not_found
from joulo_pipelines.lib.api.models import Problem, QuarterSummary
from joulo_pipelines.lib.quarters import Quarter

router = APIRouter(tags=["quarters"])


@router.get("/quarters/{quarter}/summary", response_model=QuarterSummary, responses={404: {"model": Problem}})
def quarter_summary(quarter: Annotated[str, Path(pattern=r"^2[0-9]{3}-Q[1-4]$", examples=["2026-Q1"])],
                    who: Authenticated, data_dir: Folder) -> dict:
    """The partner's totals for a quarter the pipeline has built."""
    with store.connect(data_dir) as con:
        row = con.execute("select document from quarter_summaries where partner_id = ? and quarter_start = ?",
                          [who.partner_id, Quarter.parse(quarter).start.isoformat()]).fetchone()
    if row is None:
        raise not_found("quarter", quarter)
    return json.loads(row["document"])
