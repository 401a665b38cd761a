"""`make bench` (`python -m scripts.bench`): how close a year backfill comes to Dagster's own floor, and what our
code costs alone.

Starts the Paradigm simulator on 127.0.0.1, then measures, prints a table and writes `bench-results.json`:
1. a ranged backfill of the 5 raw + 3 KPI assets (one `dagster asset materialize --partition-range` run, SQLite
   warehouse and instance, default multiprocess executor) beside the same run of the same 8 assets with empty
   bodies (`scripts/bench_floor.py`): wall time, peak memory, API requests, rows written;
2. the same days as one run per partition vs one ranged run;
3. the ingest path alone (JSON decode, flatten, warehouse write; no Dagster) at 3 companies x 2,000 used
   documents a day, into SQLite and PostgreSQL;
4. the code-location load (import and build the definitions), and one alert sensor tick over the year's KPIs;
5. a large tenant (one company of 10,000 users and 5,000 documents): every asset over 90 days and a year in one
   in-process run, and the year with the default executor: wall time, peak RSS of the largest process, rows;
6. the `kpi_alerts` tick over 3 years x 50 companies of KPI history: the first tick (every day new) and the
   daily one (one new day);
7. an instance admin's reports: 3 years x 200 companies of KPI history (synthetic, written through the
   warehouse): the dashboard's render in a process of its own (wall, peak RSS, file size), the time chromium
   takes to draw its charts offline, and the weekly digest's length.
10. an instance admin's raw backfill (`--parts instance_raw`): companies of realistic sizes (3/4 small, 10-200
   users; 45 in 200 medium, 200-2,000; 5 in 200 large, 2,000-6,000; documents about half the users), every
   partitioned asset over the range in one ranged run, once per `--raw-budgets` (REPORTING_MEMORY_BUDGET_MB):
   wall time, peak RSS of the largest process, API requests per endpoint, request windows.
"""
