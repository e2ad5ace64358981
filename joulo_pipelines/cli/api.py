"""`joulo api` (serve the partner API) and `joulo api-key` (issue, list, revoke partners' keys)."""

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
    api.set_defaults(func=lambda args, data_dir: serve(data_dir, args.host, args.port))
    api_key = commands.add_parser("api-key", help="partner API keys: create (shown once), list, revoke")
    api_key_commands = api_key.add_subparsers(dest="key_command", required=True)
    api_key_commands.add_parser("create").add_argument("--partner", required=True)
    api_key_commands.add_parser("list")
    api_key_commands.add_parser("revoke").add_argument("key_id")
    api_key.set_defaults(func=key_command)


def settings_from_env():
    from joulo_pipelines.lib.api.app import ApiSettings

    return ApiSettings(
        rate_limit=os.environ.get("JOULO_API_RATE_LIMIT", ApiSettings.rate_limit),
        max_body_bytes=int(os.environ.get("JOULO_API_MAX_BODY_BYTES", ApiSettings.max_body_bytes)),
        allow_http_webhooks=os.environ.get("JOULO_API_ALLOW_HTTP_WEBHOOKS") == "1",
    )


def serve(data_dir: DataDir, host: str, port: int) -> int:
    import uvicorn

    from joulo_pipelines.lib.api.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # uvicorn's own access log prints query strings; ours (joulo.api.access) prints no more than the path.
    uvicorn.run(create_app(data_dir, settings_from_env()), host=host, port=port, access_log=False,
                proxy_headers=True)
    return 0


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
