"""Organisational data (REPORTING_ORG_DATA): who is in which department, site or directorate, and the figures of
those groups, never naming one smaller than REPORTING_MIN_GROUP_SIZE."""
