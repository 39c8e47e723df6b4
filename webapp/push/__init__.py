"""Push: conversions out to ad platforms. One eligibility pipeline with reason codes
(``eligibility``), the delivery ledger (``ledger``), the one send loop (``send``), a connection's
push configuration (``config``) and what the pages show about it (``status``)."""
