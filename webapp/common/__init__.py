"""What every capability shares: the audit log, the errors services raise, the dialect-aware
upsert, and the re-encryption of stored secrets under a new key."""
