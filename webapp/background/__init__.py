"""The web app's side of background work: asking for it (``enqueue``, through ``jobs.enqueue``,
the only part of ``jobs/`` the web app imports) and the job-run records pages show
(``job_runs``)."""
