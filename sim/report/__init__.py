"""Reports from a saved run folder: charts, briefing (HTML, PDF, PowerPoint) and an Excel workbook.

Reports read the run folder only (tables, ``sites.csv`` and the manifest); they never rerun the
model. The model never imports this package.
"""
