"""`python -m reporting_assets.doctor`: check a deployment before its first run, one ✓/✗ line per check.

Settings and rules; the API (reachable, TLS, token and role); each reporting endpoint for yesterday (status,
time, and whether the payload has the shape our parser expects); the warehouse (reachable, writable, schema
revision); the alert and digest channels. Exit code 0 only when every check passes. Never prints the token,
a channel's secrets or personal data; `--save-samples DIR` writes the payloads with ids and names replaced.
"""
