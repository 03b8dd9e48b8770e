"""sparkify: load Sparkify's song and event JSON into a star schema.

The library is usable without the CLI::

    from sparkify import pipeline
    from sparkify.warehouse import connect

    with connect("duckdb:///sparkify.duckdb") as wh:
        report = pipeline.run(wh, source="data/sparkify-sample")
"""

__version__ = "0.1.0"
