"""The bench's floor: the project's 9 partitioned assets with empty bodies (same keys, deps, partitions, pools, backfill
policy and executor), so a run of them costs only Dagster's own bookkeeping.

`dagster asset materialize -d scripts -m bench_floor ...` (a module, so the forkserver preloads it as it
preloads `reporting_assets` for the real run)."""

from dagster import AssetsDefinition, Definitions, asset

from reporting_assets.assets.kpis import build_kpi_assets
from reporting_assets.assets.partitions import build_partitions
from reporting_assets.assets.raw import build_raw_assets
from reporting_assets.executor import executor
from reporting_assets.settings import Settings


def empty_twin(real: AssetsDefinition) -> AssetsDefinition:
    spec = next(iter(real.specs))

    @asset(
        key=spec.key,
        deps=spec.deps,
        partitions_def=spec.partitions_def,
        backfill_policy=real.backfill_policy,
        pool=real.node_def.pool,
    )
    def _empty() -> None:
        return None

    return _empty


partitions = build_partitions(Settings.load().paradigm_start_date)
real = (*build_raw_assets(partitions), *build_kpi_assets(partitions, 500))
defs = Definitions(assets=[empty_twin(a) for a in real], executor=executor)
