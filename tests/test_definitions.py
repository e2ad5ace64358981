

def test_definitions_load_with_the_jobs_sensor_and_quarterly_marts(definitions):
    keys = {key.to_user_string() for key in definitions.resolve_asset_graph().get_all_asset_keys()}
    assert {"landing/sessions", "marts/fct_charging_sessions", "marts/fct_ean_quarter_energy"} <= keys
    assert definitions.resolve_sensor_def("inbox_sensor").job_name == "ingest_job"
    quarter_job = definitions.resolve_job_def("quarter_job")
    assert quarter_job.partitions_def.get_partition_keys()[:2] == ["2026-01-01", "2026-04-01"]


def test_dbt_vars_are_the_quarter_as_local_dates():
    from joulo_pipelines.defs.partitions import quarterly_partitions
    from joulo_pipelines.defs.transform.assets import dbt_vars_for

    window = quarterly_partitions.time_window_for_partition_key("2026-10-01")
    assert dbt_vars_for(window) == {"quarter_start": "2026-10-01", "quarter_end": "2027-01-01"}
