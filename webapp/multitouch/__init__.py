"""Multi-touch attribution as pure functions: journeys in, exact credits out.

Nothing here touches Flask or the database, so the models can be checked by hand and by property
tests, and the same code serves the job, the reports and the platforms' external-attribution uploads.
"""
