"""`python -m devstack run|token`: the local stack of API.md, and tokens it accepts.

    run    embedded AWS (moto server), the infra/ stack, the API, its WebSocket API, the scheduler and the queue pump
    token  a dev token: --role admin --sub ops-1 [--approver]
"""

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from devstack.keys import DevKeys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA_DIR = Path(ROOT) / ".local" / "state"
DEFAULT_PORT = 8000


def stage_environment(stage: str = "local") -> dict[str, str]:
    """The stage's environment variables of .chalice/config.json, as Lambda would see them."""
    from chalice.cli.factory import CLIFactory

    config = CLIFactory(ROOT).create_config_obj(chalice_stage_name=stage)
    return dict(config.environment_variables)


def run(host: str, port: int, moto_port: int, data_dir: Path = DATA_DIR, reset: bool = False,
        pump_hold_s: float = 0, ws_port: int | None = None, pump_hold_task: str | None = None) -> None:
    """Start everything on the data in `data_dir` (none if `reset`), print where it is, and serve until
    Ctrl-C or SIGTERM; the data is kept up to date in `data_dir` (see devstack.persist)."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's access log would drown ours

    from devstack import cloud
    from devstack.persist import Store

    keys = DevKeys().ensure()
    store = Store(data_dir, reset=reset).open()
    serialised = cloud.one_request_at_a_time(store)
    store.dynamodb_lock = serialised.__enter__()  # for the life of the process
    moto = ThreadedMotoServer(ip_address=host, port=moto_port, verbose=False)
    moto.start()
    aws_endpoint = f"http://{host}:{moto_port}"
    ws_port = ws_port or port + 1
    os.environ.update({
        "AWS_ENDPOINT_URL": aws_endpoint, "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "ap-northeast-2", "AUTH_JWKS_FILE": str(keys.jwks_path),
        "WEBSOCKET_URL": f"ws://{host}:{ws_port}",
    })
    os.environ.update(stage_environment("local"))
    os.environ.update(cloud.deploy())
    physical_ids = cloud.physical_ids()
    restored = store.restore(aws_endpoint)
    store.start()

    sys.path.insert(0, ROOT)
    from chalice.cli.factory import CLIFactory
    from chalice.local import LocalDevServer, create_local_server

    from devstack.gateway import LocalHTTPServer, LocalRequestHandler
    from devstack.pump import Pump
    from devstack.scheduler import Scheduler
    from devstack.websocket import LocalWebsocketGateway

    config = CLIFactory(ROOT).create_config_obj(chalice_stage_name="local")
    app = config.chalice_app
    create_local_server(app, config, host, port)  # makes current_request thread-local, as chalice local does
    server = LocalDevServer(app, config, host, port, handler_cls=LocalRequestHandler, server_cls=LocalHTTPServer)
    scheduler, pump = Scheduler(app), Pump(app, physical_ids, hold_s=pump_hold_s, hold_task=pump_hold_task)
    websocket = LocalWebsocketGateway(app, host, ws_port, stage=config.api_gateway_stage)
    websocket.start()
    scheduler.start()
    pump.start()

    api = f"http://{host}:{port}"
    print(f"""
o2o-mobility local stack
  API            {api}   (GET {api}/health, {api}/openapi.json)
  WebSocket API  {websocket.url}/?token=<JWT>   (real-time messages; @connections under /{websocket.stage})
  embedded AWS   {aws_endpoint}   (AWS_ENDPOINT_URL; stack {cloud.STACK_NAME})
  signing key    {keys.jwks_path}
  local data     {store.folder}   ({restored['items']} items, {restored['messages']} queued messages, \
{restored['journal_records']} journal records restored in {restored['seconds']} s; make run RESET=1 starts empty)
  scheduler      {', '.join(f'{s.name} every {int(s.period_s)}s' for s in scheduler.schedules) or 'no schedules'}
  queue pump     {', '.join(source.name for source, _ in pump.bindings) or 'no queues'}
  a token        make token ROLE=admin SUB=ops-1
  try            curl -X POST -H "Authorization: Bearer $(make -s token ROLE=admin SUB=ops-1)" \\
                   {api}/jobs/redrive-dead-letters/run
Ctrl-C stops everything.
""", flush=True)

    stopping = threading.Event()

    def stop(*_):
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever()
    finally:
        websocket.stop()  # before the store closes: each connection's $disconnect is written and kept
        websocket.join(timeout=10)
        scheduler.stop()
        pump.stop()
        for worker in (scheduler, pump):
            worker.join(timeout=10)  # their last writes belong in the last snapshot
        store.close()
        moto.stop()
        print("local stack stopped", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run_cmd = commands.add_parser("run", help="start the local stack in the foreground")
    run_cmd.add_argument("--host", default="127.0.0.1")
    run_cmd.add_argument("--port", type=int, default=int(os.environ.get("PORT", DEFAULT_PORT)))
    run_cmd.add_argument("--moto-port", type=int, default=int(os.environ.get("MOTO_PORT", 5000)))
    run_cmd.add_argument("--ws-port", type=int, default=int(os.environ.get("WS_PORT", 0)) or None,
                         help="the WebSocket API's port (default WS_PORT, else PORT+1)")
    run_cmd.add_argument("--data-dir", type=Path, help=f"where the data lives (default {DATA_DIR}, "
                         f"or {DATA_DIR}-PORT for a stack on another port than {DEFAULT_PORT})")
    run_cmd.add_argument("--reset", action="store_true", help="delete the data and start empty")
    run_cmd.add_argument("--pump-hold-s", type=float, default=0, help=argparse.SUPPRESS)  # tests: batches in flight
    run_cmd.add_argument("--pump-hold-task", default=None, help=argparse.SUPPRESS)  # ... only those of this task
    token_cmd = commands.add_parser("token", help="print a token the local stack accepts")
    token_cmd.add_argument("--role", required=True,
                           choices=["rider", "driver", "business", "admin", "service", "auditor"])
    token_cmd.add_argument("--sub", required=True)
    token_cmd.add_argument("--approver", action="store_true")
    token_cmd.add_argument("--ttl", type=int, default=12 * 3600, help="seconds the token is valid")
    args = parser.parse_args(argv)
    if args.command == "run":
        data_dir = args.data_dir or (DATA_DIR if args.port == DEFAULT_PORT else Path(f"{DATA_DIR}-{args.port}"))
        from devstack.persist import DataInUse

        try:
            run(args.host, args.port, args.moto_port, data_dir, args.reset, args.pump_hold_s, args.ws_port,
                args.pump_hold_task)
        except DataInUse as exc:
            parser.exit(1, f"{exc}: stop it, or give this one --data-dir (or another PORT)\n")
    else:
        print(DevKeys().token(args.role, args.sub, approver=args.approver, ttl_s=args.ttl))


if __name__ == "__main__":
    main()
