"""API-key helper for the tenants file.

``python -m gateway.tier1.keys hash <key>`` prints the sha256 to paste under a tenant's ``key_sha256``;
``python -m gateway.tier1.keys new`` makes a random key and prints it with its hash (give the key to the
tenant, keep only the hash).
"""

from __future__ import annotations

import argparse
import secrets

from gateway.tier1.auth import hash_key


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gateway.tier1.keys", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("hash", help="the sha256 of a key").add_argument("key")
    commands.add_parser("new", help="a new random key and its sha256")
    args = parser.parse_args(argv)
    if args.command == "hash":
        print(hash_key(args.key))
    else:
        key = f"sg-{secrets.token_urlsafe(32)}"
        print(f"key:        {key}\nkey_sha256: {hash_key(key)}")


if __name__ == "__main__":
    main()
