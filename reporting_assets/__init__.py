"""Paradigm reporting API → SQL warehouse, KPIs and alerts, with Dagster.

Importing this package (or any module of it) has no side effect: the code location is built by
`reporting_assets.definitions`, from the environment read once into a `Settings`.
"""
