"""Per-user data: pseudonyms (`pseudonyms`), engagement and cohorts (`engagement`), retention and erasure
(`privacy`), and the `python -m reporting_assets.users` command (`__main__`)."""
