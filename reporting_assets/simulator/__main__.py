"""`python -m reporting_assets.simulator --port 8787`: serve the simulated reporting API on 127.0.0.1."""

from __future__ import annotations

import argparse
import os

from reporting_assets.simulator.app import Simulator, make_server
from reporting_assets.simulator.data import DEFAULT_TOKEN


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--token",
        default=os.environ.get("PARADIGM_API_KEY", DEFAULT_TOKEN),
        help="bearer token to accept (default: $PARADIGM_API_KEY, else the demo token)",
    )
    args = parser.parse_args()
    server = make_server(Simulator(seed=args.seed, token=args.token), args.host, args.port)
    host, port = server.server_address[:2]
    print(f"Paradigm simulator on http://{host}:{port} (seed {args.seed}); Ctrl-C stops it", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.server_close()


if __name__ == "__main__":
    main()
