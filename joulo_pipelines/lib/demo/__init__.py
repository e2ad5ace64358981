"""Generated worlds: the demo partners' year of file drops (world.py) with their payout settings
(payout_config.py), and national-scale data for the benchmark (bench_data.py)."""
