"""Your own KPIs (`REPORTING_KPIS`): declared in a YAML file (`definition`), compiled to SQL over the BI contract's
views and computed daily into `custom_kpi` (`compute`), by the `custom_kpis` asset (`defs`)."""
