"""Apache Superset's configuration for `make superset` and the BI tests: a local metadata database (SQLite) at
SUPERSET_METADATA_DB, and the warehouse as a data source (SQLite included, which Superset refuses by default)."""

import os

SECRET_KEY = os.environ.get("SUPERSET_SECRET_KEY", "local-superset-of-paradigm-reporting-change-me")
SQLALCHEMY_DATABASE_URI = f"sqlite:///{os.environ['SUPERSET_METADATA_DB']}"
PREVENT_UNSAFE_DB_CONNECTIONS = False  # the default warehouse is a SQLite file
WTF_CSRF_ENABLED = False  # a local tool: the REST API is used with a login token
