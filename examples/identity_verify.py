#!/usr/bin/env python3
"""Verify the identity assertion that Caddy's mcp_jwe_auth hands a backend.

With `identity_assertion` configured, every request Caddy passes on carries a
compact JWS in the X-MCP-Identity header (or the configured `header`), signed
with Caddy's signing key. A backend that verifies it with the public keys
Caddy publishes at the assertion's `jwks_path` knows the request came through
Caddy, for which user (sub), client (client_id) and scopes (scope), and, for
a JSON-RPC POST, for which operation (mcp: method, name or uri, and the
SHA-256 of the exact argument bytes).

Needs jwcrypto (Debian: apt-get install python3-jwcrypto; or pip install
jwcrypto). As a library: call fetch_keys() once (and again when a kid is
unknown, after a key rotation), then verify_assertion() per request. As a
command, it verifies one assertion (an argument, or standard input) and
prints its claims as JSON; it exits 1 when the assertion does not verify:

    identity_verify.py --jwks http://127.0.0.1:8080/.well-known/mcp-identity-jwks.json \\
        --audience https://backend.example "$ASSERTION"
"""

import argparse
import base64
import hashlib
import json
import sys
import time
import urllib.request

from jwcrypto import jwk, jwt

# The algorithms Caddy signs assertions with (by the signing key's curve).
ALGORITHMS = ["EdDSA", "ES256", "ES384"]

# Clock skew allowed between Caddy and the backend, in seconds.
LEEWAY = 5


def fetch_keys(jwks_url):
    """Fetch the public keys Caddy publishes at the assertion's jwks_path."""
    with urllib.request.urlopen(jwks_url, timeout=10) as resp:
        return jwk.JWKSet.from_json(resp.read())


def verify_assertion(assertion, keys, audience):
    """Return the claims of a valid assertion; raise ValueError otherwise.

    Checks the signature (by the key its kid names, with an allowed
    algorithm), typ JWT, aud, exp and iat.
    """
    if assertion.count(".") != 2:
        raise ValueError("not a compact JWS")
    try:
        token = jwt.JWT(algs=ALGORITHMS, check_claims={"aud": audience, "exp": None, "iat": None})
        token.leeway = LEEWAY
        token.deserialize(assertion, keys)
    except Exception as e:  # jwcrypto raises several exception types
        raise ValueError("the assertion does not verify: %s" % e) from e
    if token.token.jose_header.get("typ") != "JWT":
        raise ValueError("the assertion's typ is not JWT")
    claims = json.loads(token.claims)
    if claims["iat"] > time.time() + LEEWAY:
        raise ValueError("the assertion is issued in the future")
    if not isinstance(claims.get("sub"), str) or claims["sub"] == "":
        raise ValueError("the assertion names no user")
    return claims


def arguments_sha256(arguments):
    """The arguments_sha256 of the raw bytes of params.arguments, to compare
    with the assertion's mcp claim: hash the exact bytes the request carried,
    not a re-encoding of the parsed value."""
    digest = hashlib.sha256(arguments).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def main(argv):
    parser = argparse.ArgumentParser(description="Verify an mcp_jwe_auth identity assertion.")
    parser.add_argument("--jwks", required=True, help="URL of the assertion's jwks_path")
    parser.add_argument("--audience", required=True, help="the aud the assertion must carry")
    parser.add_argument("assertion", nargs="?", help="the header's value (default: standard input)")
    args = parser.parse_args(argv)
    assertion = args.assertion if args.assertion is not None else sys.stdin.read().strip()
    try:
        claims = verify_assertion(assertion, fetch_keys(args.jwks), args.audience)
    except ValueError as e:
        print("identity_verify: %s" % e, file=sys.stderr)
        return 1
    json.dump(claims, sys.stdout, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
