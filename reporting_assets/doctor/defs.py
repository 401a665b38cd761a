"""The doctor's Dagster definitions: the `doctor` job, the same checks from the UI."""

from dagster import Config, Definitions, Failure, OpExecutionContext, job, op

from reporting_assets.doctor.checks import checks, language


def build_defs() -> Definitions:
    """The `doctor` job: the same checks from the UI (the run's log lists them; it fails when one fails)."""

    class DoctorConfig(Config):
        test_notification: bool = False

    @op(name="run_doctor_checks", description="Settings, API and endpoints, warehouse, channels: one line each.")
    def run_checks(context: OpExecutionContext, config: DoctorConfig) -> None:
        found, lang = checks(test_notification=config.test_notification), language()
        for check in found:
            (context.log.info if check.ok else context.log.error)(check.line(lang))
        if failed := [c.line(lang) for c in found if not c.ok]:
            raise Failure(description=f"{len(failed)} check(s) failed:\n" + "\n".join(failed))

    @job(name="doctor", description="Checks settings, API, token, every endpoint's shape, warehouse and channels.")
    def doctor() -> None:
        run_checks()

    return Definitions(jobs=[doctor])
