"""Paradigm reporting API → SQL warehouse, KPIs and alerts, with Dagster."""

from reporting_assets.definitions import defs

__all__ = ["defs"]
