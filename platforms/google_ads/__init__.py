"""Google Ads: offline conversions through Google's Data Manager API, accounts, conversion actions
and reporting through the Google Ads API. ``emulator`` is a local stand-in for both services."""
