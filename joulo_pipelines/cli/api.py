"""`joulo api` (serve the partner API and dashboard), `joulo api-key` (issue, list, revoke partners' keys) and
`joulo dashboard-user` (the partner's people who sign in to the dashboard)."""

from __future__ import annotations

import argparse
import logging
import os

from joulo_pipelines.lib.partners import load_registry
from joulo_pipelines.lib.paths import DataDir


def register(commands: argparse._SubParsersAction) -> None:
    api = commands.add_parser("api", help="serve the partner API (enrol, revoke, status, webhooks)")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8000)
    api.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)),
                     help="server processes (default: one per core)")
    api.set_defaults(func=lambda args, data_dir: serve(data_dir, args.host, args.port, args.workers))
    api_key = commands.add_parser("api-key", help="partner API keys: create (shown once), list, revoke")
    api_key_commands = api_key.add_subparsers(dest="key_command", required=True)
    api_key_commands.add_parser("create").add_argument("--partner", required=True)
    api_key_commands.add_parser("list")
    api_key_commands.add_parser("revoke").add_argument("key_id")
    api_key.set_defaults(func=key_command)
    user = commands.add_parser("dashboard-user", help="dashboard accounts: add (password from a prompt or stdin), list")
    user_commands = user.add_subparsers(dest="user_command", required=True)
    add = user_commands.add_parser("add")
    add.add_argument("--partner", required=True)
    add.add_argument("--email", required=True)
    add.add_argument("--role", choices=["viewer", "admin"], default="viewer")
    user_commands.add_parser("list")
    user.set_defaults(func=user_command)


def settings_from_env():
    from joulo_pipelines.lib.api.app import ApiSettings

    return ApiSettings(
        rate_limit=os.environ.get("JOULO_API_RATE_LIMIT", ApiSettings.rate_limit),
        max_body_bytes=int(os.environ.get("JOULO_API_MAX_BODY_BYTES", ApiSettings.max_body_bytes)),
        allow_http_webhooks=os.environ.get("JOULO_API_ALLOW_HTTP_WEBHOOKS") == "1",
    )


def serve(data_dir: DataDir, host: str, port: int, workers: int = 1) -> int:
    import uvicorn

    from joulo_pipelines.lib.dashboard.routes import session_secret

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    session_secret(data_dir)  # made here, once: workers that each made their own would refuse each other's cookies
    # Several processes, so pages are rendered on every core; they share the stores (SQLite) and the rate limit's
    # hits (lib/api/rate_limits.py). Each worker builds its app from JOULO_DATA_DIR, which the CLI has set.
    # uvicorn's own access log prints query strings; ours (joulo.api.access) prints no more than the path.
    uvicorn.run("joulo_pipelines.cli.api:serving_app_from_env", factory=True, workers=workers, host=host, port=port,
                access_log=False, proxy_headers=True)
    return 0


def serving_app_from_env():
    return serving_app(DataDir.from_env())


def serving_app(data_dir: DataDir):
    """The partner API, and under /dashboard the partner's people in a browser (the API knows no reports)."""
    from joulo_pipelines.lib.api.app import create_app
    from joulo_pipelines.lib.dashboard.routes import DashboardSettings, mount_dashboard

    app = create_app(data_dir, settings_from_env())
    mount_dashboard(app, data_dir, DashboardSettings(https_only=os.environ.get("JOULO_DASHBOARD_HTTPS_ONLY") == "1"))
    return app


def key_command(args: argparse.Namespace, data_dir: DataDir) -> int:
    from joulo_pipelines.lib.api import keys, store

    with store.connect(data_dir) as con:
        if args.key_command == "create":
            load_registry(data_dir.partners_file).require(args.partner)
            key_id, key = keys.issue_key(con, args.partner)
            print(f"key {key_id} for {args.partner} (shown once, stored only as a hash):\n{key}")
        elif args.key_command == "revoke":
            if not keys.revoke_key(con, args.key_id):
                raise ValueError(f"no active key {args.key_id!r}")
            print(f"key {args.key_id} revoked")
        else:
            for row in keys.list_keys(con):
                print(f"{row['key_id']}  {row['partner_id']}  created {row['created_at']}"
                      f"{'  revoked ' + row['revoked_at'] if row['revoked_at'] else ''}")
    return 0


def user_command(args: argparse.Namespace, data_dir: DataDir) -> int:
    import getpass
    import sys

    from joulo_pipelines.lib import clock
    from joulo_pipelines.lib.dashboard import accounts

    with accounts.connect(data_dir) as con:
        if args.user_command == "add":
            registry = load_registry(data_dir.partners_file)
            if args.partner not in registry.ids:
                raise ValueError(f"partner {args.partner!r} is not in {data_dir.partners_file}; "
                                 f"known: {', '.join(registry.ids)}")
            # never an argument: it would stay in the shell's history and the process list
            password = getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
            user = accounts.add_user(con, args.partner, args.email, args.role, password, clock.now())
            print(f"dashboard user {user.email} ({user.role}) of {user.partner_id} added")
        else:
            for row in con.execute("select partner_id, email, role, locked_until from dashboard_users "
                                   "order by partner_id, email"):
                print(f"{row['partner_id']}  {row['email']}  {row['role']}"
                      f"{'  locked until ' + row['locked_until'] if row['locked_until'] else ''}")
    return 0
