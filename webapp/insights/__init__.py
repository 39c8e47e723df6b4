"""Insights: the pull of structure and daily metrics from each platform (``sync``), the batched
upserts that store them (``store``) and the reports read back from them (``reports``)."""
