"""`python -m reporting_assets.doctor`."""

import sys

from reporting_assets.doctor.cli import main

sys.exit(main())
