"""Multi-touch attribution, and only that. The models are pure functions (``journey``,
``weights``, ``allocate``, ``engine``, ``money``): journeys in, exact credits out, nothing of Flask
or the database, so they can be checked by hand and by property tests. On top of them: the stored
credits (``credits``), campaign matching for the reports (``campaigns``), the reports
(``reports``), the workspace's settings (``settings``) and the credit a platform with external
attribution receives for each click it is sent (``external_credit``)."""
