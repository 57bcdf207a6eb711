"""Entra-style token authentication driven the way applications drive it:
redis-py with a `credential_provider` that hands out (object id, JWT).

The keys are made with the `openssl` CLI (an RS256 and an ES256 P-256 key
pair, plus an impostor RSA key under the same kid) so no crypto package is
needed in the venv; tokens are assembled and signed here by hand, which also
keeps the test independent of the server's own JWT library.

What is checked:
- a valid token from either key opens a working connection, over RESP2
  (AUTH) and RESP3 (HELLO 3 AUTH);
- every bad token (expired, not yet valid, wrong audience, wrong issuer,
  bad signature, oid different from the user name) is a
  `redis.AuthenticationError` with Redis's WRONGPASS text;
- a reader policy gets NOPERM on writes;
- a short-lived token without refresh gets its connection closed at expiry,
  and reconnecting with the same stale token fails to authenticate;
- redis-py's streaming provider interface (`StreamingCredentialProvider`,
  whose `on_next` callback makes the pool re-AUTH its connections) keeps a
  connection alive, with the same CLIENT ID, past the first token's expiry.
"""

import base64
import json
import os
import subprocess
import tempfile
import threading
import time

import pytest
import redis
from redis.auth.token import SimpleToken
from redis.credentials import CredentialProvider, StreamingCredentialProvider

from conftest import start_quiver

ISSUER = "https://sts.windows.net/test-tenant/"
AUDIENCE = "https://redis.azure.com"
WRONGPASS = "invalid username-password pair or user is disabled."


# --- keys and tokens ---------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def openssl(*args, stdin=None) -> bytes:
    out = subprocess.run(["openssl", *args], input=stdin, capture_output=True)
    assert out.returncode == 0, "openssl %s: %s" % (args, out.stderr.decode(errors="replace"))
    return out.stdout


def der_ecdsa_to_raw(sig: bytes) -> bytes:
    """JWS ES256 wants r||s (32 bytes each); openssl writes the DER
    SEQUENCE { INTEGER r, INTEGER s }."""
    assert sig[0] == 0x30, sig.hex()
    i = 2 if sig[1] < 0x80 else 2 + (sig[1] & 0x7F)
    parts = []
    for _ in range(2):
        assert sig[i] == 0x02, sig.hex()
        n = sig[i + 1]
        parts.append(int.from_bytes(sig[i + 2 : i + 2 + n], "big"))
        i += 2 + n
    return b"".join(p.to_bytes(32, "big") for p in parts)


class Signer:
    """A private key in a PEM file and its public half as a JWK."""

    def __init__(self, kid, alg, pem_path, jwk):
        self.kid, self.alg, self.pem, self.jwk = kid, alg, pem_path, jwk

    @classmethod
    def rsa(cls, kid, workdir):
        pem = os.path.join(workdir, "%s-%d.pem" % (kid, len(os.listdir(workdir))))
        openssl("genrsa", "-out", pem, "2048")
        modulus = openssl("rsa", "-in", pem, "-noout", "-modulus").decode().strip()
        n = bytes.fromhex(modulus.split("=", 1)[1])
        jwk = {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": b64url(n), "e": "AQAB"}
        return cls(kid, "RS256", pem, jwk)

    @classmethod
    def ec(cls, kid, workdir):
        pem = os.path.join(workdir, "%s-%d.pem" % (kid, len(os.listdir(workdir))))
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", pem)
        spki = openssl("ec", "-in", pem, "-pubout", "-outform", "DER")
        # The SubjectPublicKeyInfo ends with the uncompressed point 04||x||y.
        point = spki[-65:]
        assert point[0] == 4, spki.hex()
        jwk = {"kty": "EC", "kid": kid, "use": "sig", "crv": "P-256",
               "x": b64url(point[1:33]), "y": b64url(point[33:])}
        return cls(kid, "ES256", pem, jwk)

    def sign(self, claims: dict) -> str:
        header = {"alg": self.alg, "typ": "JWT", "kid": self.kid}
        signing_input = (b64url(json.dumps(header).encode()) + "." +
                         b64url(json.dumps(claims).encode())).encode()
        sig = openssl("dgst", "-sha256", "-sign", self.pem, stdin=signing_input)
        if self.alg == "ES256":
            sig = der_ecdsa_to_raw(sig)
        return signing_input.decode() + "." + b64url(sig)


def claims(oid, ttl=3600, **edits):
    now = int(time.time())
    c = {"iss": ISSUER, "aud": AUDIENCE, "oid": oid, "iat": now - 5, "nbf": now - 5,
         "exp": now + ttl, "tid": "test-tenant"}
    c.update(edits)
    return c


@pytest.fixture(scope="module")
def keys():
    workdir = tempfile.mkdtemp(prefix="quiver-jwt-")
    return {
        "rsa": Signer.rsa("rsa-1", workdir),
        "ec": Signer.ec("ec-1", workdir),
        # Same kid and algorithm as "rsa", different key: its signatures do
        # not verify under the published key.
        "impostor": Signer.rsa("rsa-1", workdir),
        "workdir": workdir,
    }


@pytest.fixture(scope="module")
def server(keys):
    jwks = os.path.join(keys["workdir"], "jwks.json")
    with open(jwks, "w") as f:
        json.dump({"keys": [keys["rsa"].jwk, keys["ec"].jwk]}, f)
    s = start_quiver("--jwt-jwks-file", jwks, "--jwt-issuers", ISSUER,
                     "--jwt-audiences", AUDIENCE,
                     "--jwt-policies", "oid-owner:owner;oid-reader:reader")
    yield s
    s.stop()


# --- providers ---------------------------------------------------------------


class StaticTokenProvider(CredentialProvider):
    """Hands out one fixed (oid, token) pair, like a provider whose cache
    was never refreshed. Counts how often redis-py asked."""

    def __init__(self, oid, token):
        self.oid, self.token, self.calls = oid, token, 0

    def get_credentials(self):
        self.calls += 1
        return self.oid, self.token

    async def get_credentials_async(self):
        return self.get_credentials()


class RefreshingTokenProvider(StreamingCredentialProvider):
    """A streaming provider in redis-py 8's sense: `get_credentials` gives
    the current token, and `refresh()` mints a new one and pushes it to the
    callbacks redis-py registered with `on_next` (the client's pool then
    re-AUTHs its idle connections, and in-use ones when released).

    The test calls `refresh()` itself, from its own thread, instead of on a
    background timer: that is the same code path in redis-py, without a
    race between the refresh and the test's own commands."""

    def __init__(self, signer, oid, ttl):
        self.signer, self.oid, self.ttl = signer, oid, ttl
        self._next, self._error = [], []
        self.lock = threading.Lock()
        self.current = self._mint()

    def _mint(self):
        c = claims(self.oid, self.ttl)
        self.exp = c["exp"]
        return self.signer.sign(c)

    def get_credentials(self):
        with self.lock:
            return self.oid, self.current

    async def get_credentials_async(self):
        return self.get_credentials()

    def on_next(self, callback):
        self._next.append(callback)

    def on_error(self, callback):
        self._error.append(callback)

    def is_streaming(self):
        return True

    def refresh(self, ttl=None):
        if ttl is not None:
            self.ttl = ttl
        with self.lock:
            self.current = self._mint()
            exp = self.exp
        now_ms = time.time() * 1000
        token = SimpleToken(self.current, exp * 1000, now_ms, {"oid": self.oid})
        for cb in self._next:
            cb(token)


def dec(x):
    return x.decode() if isinstance(x, bytes) else x


def client(server, provider, **kw):
    return redis.Redis(port=server.port, credential_provider=provider, **kw)


# --- tests -------------------------------------------------------------------


@pytest.mark.parametrize("protocol", [2, 3], ids=["resp2", "resp3"])
@pytest.mark.parametrize("alg", ["rsa", "ec"])
def test_valid_token_opens_a_working_connection(server, keys, protocol, alg):
    provider = StaticTokenProvider("oid-owner", keys[alg].sign(claims("oid-owner")))
    r = client(server, provider, protocol=protocol)
    try:
        assert r.set("tok:%s:%d" % (alg, protocol), "v") is True
        assert r.get("tok:%s:%d" % (alg, protocol)) == b"v"
        assert dec(r.acl_whoami()) == "oid-owner"
        assert provider.calls == 1
        # The connection's user shows in CLIENT INFO, and never the token.
        info = r.execute_command("CLIENT", "INFO").decode()
        assert "user=oid-owner" in info, info
        assert provider.token not in info
    finally:
        r.close()


BAD_TOKENS = {
    "expired": lambda k: ("oid-owner", k["rsa"].sign(claims("oid-owner", exp=int(time.time()) - 10))),
    "not-yet-valid": lambda k: ("oid-owner", k["ec"].sign(claims("oid-owner", nbf=int(time.time()) + 600))),
    "wrong-audience": lambda k: ("oid-owner", k["rsa"].sign(claims("oid-owner", aud="https://other.example"))),
    "wrong-issuer": lambda k: ("oid-owner", k["ec"].sign(claims("oid-owner", iss="https://evil.example/"))),
    "bad-signature": lambda k: ("oid-owner", k["impostor"].sign(claims("oid-owner"))),
    "oid-not-username": lambda k: ("someone-else", k["rsa"].sign(claims("oid-owner"))),
    "tampered-payload": lambda k: ("oid-reader", tamper(k["rsa"].sign(claims("oid-owner")), "oid-reader")),
}


def tamper(token, new_oid):
    """Swaps the payload's oid and keeps the original signature."""
    h, p, s = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    body["oid"] = new_oid
    return ".".join([h, b64url(json.dumps(body).encode()), s])


@pytest.mark.parametrize("protocol", [2, 3], ids=["resp2", "resp3"])
@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
def test_bad_tokens_are_wrongpass(server, keys, case, protocol):
    oid, token = BAD_TOKENS[case](keys)
    # retry=None: redis-py counts AuthenticationError as a ConnectionError
    # and would otherwise retry the handshake, each try one more failure
    # towards the server's per-address limit (auth-failures-max).
    r = client(server, StaticTokenProvider(oid, token), protocol=protocol, retry=None)
    try:
        with pytest.raises(redis.AuthenticationError) as e:
            r.ping()
        assert WRONGPASS in str(e.value), str(e.value)
    finally:
        r.close()
    # The refusal is in ACL LOG with its reason; the token is not.
    admin = redis.Redis(port=server.port)
    try:
        entry = admin.acl_log(count=1)[0]
        assert entry["reason"] == "auth", entry
        assert entry["username"] == oid, entry
        assert token not in repr(admin.acl_log()), "token leaked into ACL LOG"
    finally:
        admin.close()


def test_reader_policy_cannot_write(server, keys):
    owner = client(server, StaticTokenProvider("oid-owner", keys["rsa"].sign(claims("oid-owner"))))
    reader = client(server, StaticTokenProvider("oid-reader", keys["ec"].sign(claims("oid-reader"))))
    try:
        owner.set("shared", "from-owner")
        assert reader.get("shared") == b"from-owner"
        with pytest.raises(redis.exceptions.NoPermissionError) as e:
            reader.set("shared", "from-reader")
        assert str(e.value) == "this user has no permissions to run the 'set' command"
        assert owner.get("shared") == b"from-owner"
    finally:
        owner.close()
        reader.close()


def wait_until(predicate, timeout, step=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def test_short_lived_token_closes_the_connection_at_expiry(server, keys):
    provider = StaticTokenProvider("oid-owner", keys["ec"].sign(claims("oid-owner", ttl=2)))
    exp = json.loads(base64.urlsafe_b64decode(provider.token.split(".")[1] + "=="))["exp"]
    # No retries: a dropped connection must show up as an error here rather
    # than be papered over by a reconnect.
    r = client(server, provider, retry=None, single_connection_client=True)
    try:
        assert r.ping() is True
        cid = r.client_id()

        def closed():
            try:
                r.ping()
                return False
            except (redis.ConnectionError, redis.AuthenticationError):
                return True

        assert wait_until(closed, timeout=(exp - time.time()) + 6), "connection outlived its token"
        # Not before the token expired (one second of slack for clock
        # rounding: exp has one-second resolution).
        assert time.time() >= exp - 1
        # The server dropped the client, not just this socket's view of it.
        admin = redis.Redis(port=server.port)
        try:
            assert wait_until(lambda: cid not in [int(c["id"]) for c in admin.client_list()], 3)
        finally:
            admin.close()
    finally:
        r.close()
    # Reconnecting with the same (now expired) token cannot authenticate.
    r2 = client(server, provider)
    try:
        with pytest.raises(redis.AuthenticationError):
            r2.ping()
    finally:
        r2.close()


def test_streaming_provider_reauths_and_keeps_the_connection(server, keys):
    provider = RefreshingTokenProvider(keys["rsa"], "oid-owner", ttl=2)
    first_exp = provider.exp
    # A pool of one connection, no retries: the connection that exists at
    # the start must be the one that survives.
    r = client(server, provider, retry=None, max_connections=1)
    try:
        cid = r.client_id()
        assert r.set("refresh", "0") is True
        # Before the first token expires, the provider streams a new one;
        # redis-py re-AUTHs the idle pooled connection on the spot.
        provider.refresh(ttl=3600)
        # Sleep well past the first token's expiry (and the server's
        # expiry-watch period).
        time.sleep(max(0.0, first_exp - time.time()) + 2.0)
        assert r.incr("refresh") == 1
        assert r.client_id() == cid
        admin = redis.Redis(port=server.port)
        try:
            listed = {int(c["id"]): c for c in admin.client_list()}
            assert listed[cid]["user"] == "oid-owner", listed
        finally:
            admin.close()

        # A refresh to another short token moves the deadline back in: the
        # connection now closes at that token's expiry.
        provider.refresh(ttl=2)
        second_exp = provider.exp
        assert r.ping() is True

        def closed():
            try:
                r.ping()
                return False
            except (redis.ConnectionError, redis.AuthenticationError):
                return True

        assert wait_until(closed, timeout=(second_exp - time.time()) + 6)
        assert time.time() >= second_exp - 1
    finally:
        r.close()


def test_streaming_provider_reauth_applies_to_a_connection_in_use(server, keys):
    """A token that arrives while the connection is checked out of the pool
    is applied (AUTH on that connection) when redis-py releases it."""
    provider = RefreshingTokenProvider(keys["ec"], "oid-owner", ttl=2)
    first_exp = provider.exp
    r = client(server, provider, retry=None, max_connections=1)
    try:
        pipe = r.pipeline(transaction=False)
        pipe.client_id()
        # Check the pool's one connection out, refresh while it is in use,
        # then let the pipeline return it.
        conn = r.connection_pool.get_connection()
        conn.send_command("CLIENT", "ID")
        cid = conn.read_response()
        provider.refresh(ttl=3600)
        r.connection_pool.release(conn)
        time.sleep(max(0.0, first_exp - time.time()) + 2.0)
        assert pipe.execute() == [cid]
        assert r.get("nothing") is None
    finally:
        r.close()
