"""Who answers for an asset, shown as its owner in the Dagster UI: one team for all of them today."""

DATA_TEAM = ["team:data"]
