"""The BI contract: versioned views over the warehouse for Power BI, Tableau, Looker and Superset (`contract.py`,
`views.py`), read-only company-scoped roles (`access.py`), extracts and kits generated from the same registry."""
