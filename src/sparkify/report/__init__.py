"""The analytics report: one self-contained HTML page built from a warehouse.

The page shows the load's summary (tables, row counts, rejects, checks, when and from which source),
a chart for each analytics question that a chart answers better than a table, the table behind
every chart, and the data-quality results.

The charts are inline SVG (:mod:`~sparkify.report.charts`). The page loads nothing: it has no
script, web font, external stylesheet or image, and its Content-Security-Policy blocks any that get
in. It opens offline in any browser and prints on A4 or Letter. The page is a Jinja2 template with
autoescaping (:mod:`~sparkify.report.page`), because song titles, file names and reject reasons
contain ``<``, ``&`` and quotes.

* :mod:`~sparkify.report.charts` -- column, bar and share charts as SVG text;
* :mod:`~sparkify.report.figures` -- which chart answers which analytics question;
* :mod:`~sparkify.report.history` -- what is known about the load (run report, ``load_runs``);
* :mod:`~sparkify.report.formatting` -- how numbers, shares and dates are worded;
* :mod:`~sparkify.report.page` -- :func:`build` and :func:`write`, the template and its CSS.

This package uses only the warehouse interface, through the analytics catalog, the ledger and
:func:`sparkify.pipeline.check`, so it works on every engine. It prints nothing.
"""

from sparkify.report.page import build, write

__all__ = ["build", "write"]
