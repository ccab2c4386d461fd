"""The receiver's decode, validation and normalization written as one ClickHouse query (issue 14's
probe; not an ingest path: see ``bench/sql_ingest_probe.py`` for why)."""
