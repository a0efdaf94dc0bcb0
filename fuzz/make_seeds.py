#!/usr/bin/env python3
"""Writes keys.jwks.json and the seed corpus seeds/<target>/ for the fuzz targets.

Run once (python3 make_seeds.py) with the `cryptography` package; both the
public keys and the seeds are committed, so re-running is only needed to
change them (it makes new keys: then commit both together). The seed tokens
are valid at the targets' fixed clock, 1_700_000_000.
"""
import base64
import hashlib
import hmac
import json
import os
import shutil

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

HERE = os.path.dirname(os.path.abspath(__file__))
HMAC_SECRET = b"ssr-session fuzz hmac secret, 32+ bytes long"
NOW = 1_700_000_000


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def js(value) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def int_bytes(n: int) -> bytes:
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ec_key = ec.generate_private_key(ec.SECP256R1())
ed_key = ed25519.Ed25519PrivateKey.generate()
attacker = ed25519.Ed25519PrivateKey.generate()

rsa_pub = rsa_key.public_key().public_numbers()
ec_pub = ec_key.public_key().public_numbers()
ed_raw = ed_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
attacker_raw = attacker.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

JWKS = {
    "keys": [
        {"kty": "RSA", "kid": "rs", "alg": "RS256", "use": "sig", "n": b64(int_bytes(rsa_pub.n)), "e": b64(int_bytes(rsa_pub.e))},
        {"kty": "EC", "kid": "es", "alg": "ES256", "use": "sig", "crv": "P-256",
         "x": b64(ec_pub.x.to_bytes(32, "big")), "y": b64(ec_pub.y.to_bytes(32, "big"))},
        {"kty": "OKP", "kid": "ed", "alg": "EdDSA", "use": "sig", "crv": "Ed25519", "x": b64(ed_raw)},
    ]
}


def sign(alg: str, data: bytes) -> bytes:
    if alg == "RS256":
        return rsa_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    if alg == "ES256":
        r, s = decode_dss_signature(ec_key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    if alg == "EdDSA":
        return ed_key.sign(data)
    if alg == "HS256":
        return hmac.new(HMAC_SECRET, data, hashlib.sha256).digest()
    raise ValueError(alg)


def claims(**extra):
    base = {
        "sub": "user-1", "exp": NOW + 3600, "iat": NOW - 10, "sessionHandle": "0b1c2d3e-0000-4000-8000-000000000001",
        "refreshTokenHash1": "ab" * 32, "parentRefreshTokenHash1": None, "antiCsrfToken": None,
        "tId": "public", "rsub": "user-1", "iss": "http://localhost:3000/auth",
    }
    base.update(extra)
    return {k: v for k, v in base.items() if v is not ...}


def token(alg: str, kid, payload, header_extra=None, sign_as=None, raw_payload=None) -> bytes:
    header = {"alg": alg, "typ": "JWT", "version": "5"}
    if kid is not None:
        header["kid"] = kid
    header.update(header_extra or {})
    body = raw_payload if raw_payload is not None else js(payload)
    signing_input = f"{b64(js(header))}.{b64(body)}".encode()
    signature = sign(sign_as or alg, signing_input)
    return signing_input + b"." + b64(signature).encode()


KIDS = {"RS256": "rs", "ES256": "es", "EdDSA": "ed", "HS256": "hs"}
valid = {alg: token(alg, kid, claims()) for alg, kid in KIDS.items()}

raw = {}
for alg, kid in KIDS.items():
    raw[f"valid-{alg}"] = valid[alg]
    raw[f"expired-{alg}"] = token(alg, kid, claims(exp=NOW - 60))
unsigned = b64(js({"alg": "none", "typ": "JWT"})) + "." + b64(js(claims()))
raw["alg-none"] = (unsigned + ".").encode()
raw["alg-None"] = (b64(js({"alg": "None"})) + "." + b64(js(claims())) + ".").encode()
# Alg confusion: HS256 keyed with the RSA public key's PEM, naming the RSA key.
pem = rsa_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
confusion_input = f"{b64(js({'alg': 'HS256', 'kid': 'rs'}))}.{b64(js(claims()))}".encode()
raw["alg-confusion-hs256-rsa-pem"] = confusion_input + b"." + b64(hmac.new(pem, confusion_input, hashlib.sha256).digest()).encode()
# An embedded attacker key (CVE-2018-0114 style), and key URLs.
jwk_header = {"alg": "EdDSA", "jwk": {"kty": "OKP", "crv": "Ed25519", "x": b64(attacker_raw)}}
jwk_input = f"{b64(js(jwk_header))}.{b64(js(claims()))}".encode()
raw["embedded-jwk"] = jwk_input + b"." + b64(attacker.sign(jwk_input)).encode()
raw["jku"] = token("EdDSA", "attacker", claims(), {"jku": "https://evil.example/jwks.json"}, sign_as="EdDSA")
raw["x5u"] = token("EdDSA", "attacker", claims(), {"x5u": "https://evil.example/cert.pem"}, sign_as="EdDSA")
raw["crit"] = token("EdDSA", "ed", claims(), {"crit": ["exp"]})
# Psychic signatures (CVE-2022-21449): r = s = 0.
es_input = f"{b64(js({'alg': 'ES256', 'kid': 'es'}))}.{b64(js(claims()))}".encode()
raw["psychic-ecdsa"] = es_input + b"." + b64(bytes(64)).encode()
raw["nbf-future"] = token("HS256", "hs", claims(nbf=NOW + 600))
raw["no-exp"] = token("HS256", "hs", claims(exp=...))
raw["exp-string"] = token("HS256", "hs", claims(exp=str(NOW + 3600)))
raw["sub-number"] = token("HS256", "hs", claims(sub=42))
raw["payload-array"] = token("HS256", "hs", None, raw_payload=b"[1,2,3]")
raw["payload-bad-utf8"] = token("HS256", "hs", None, raw_payload=b'{"sub":"\xff","exp":1700003600}')
raw["no-kid"] = token("HS256", None, claims())
raw["unknown-kid"] = token("HS256", "d-1699999999999", claims())
raw["four-segments"] = valid["HS256"] + b".extra"
raw["padded"] = valid["HS256"] + b"=="
raw["kid-unicode"] = token("HS256", "h\u0073\u200b", claims())

signed = {
    "supertokens": (js({"alg": "HS256", "kid": "hs", "typ": "JWT", "version": "5"}), js(claims())),
    "no-kid": (js({"alg": "HS256"}), js({"sub": "a", "exp": NOW + 1})),
    "expired": (js({"alg": "HS256", "kid": "hs"}), js({"sub": "a", "exp": NOW})),
    "nbf-aud-iss": (js({"alg": "HS256", "kid": "hs"}), js({"sub": "a", "exp": NOW + 5, "nbf": NOW, "aud": ["x", "y"], "iss": 1})),
    "floats": (js({"alg": "HS256", "kid": "hs"}), b'{"sub":"a","exp":1.7e9,"nbf":-1e308,"iat":1e400}'),
    "claims-nested": (js({"alg": "HS256", "kid": "hs"}), js(claims(**{"st-ev": {"v": True, "t": 1}, "st-role": {"v": ["admin"], "t": 2}}))),
    "crit-empty": (js({"alg": "HS256", "kid": "hs", "crit": []}), js(claims())),
    "alg-case": (js({"alg": "hs256", "kid": "hs"}), js(claims())),
    "kid-confusion": (js({"alg": "HS256", "kid": "ed"}), js(claims())),
    "duplicate-keys": (b'{"alg":"HS256","alg":"none","kid":"hs"}', js(claims())),
    "deep": (js({"alg": "HS256", "kid": "hs"}), b'{"sub":"a","exp":1700000100,"x":' + b"[" * 200 + b"]" * 200 + b"}"),
}

cookie = valid["HS256"]
sources = {
    "cookie": b"\x00theme=dark; sAccessToken=" + cookie + b"; lang=en",
    "cookie-quoted": b"\x00sAccessToken=\"" + valid["EdDSA"] + b"\"",
    "cookie-duplicates": b"\x00sAccessToken=garbage; sAccessToken=" + cookie + b"\n\x00sAccessToken=" + valid["ES256"],
    "cookie-many": b"\x00" + b"; ".join(b"sAccessToken=t%d" % i for i in range(8)),
    "bearer": b"\x40Bearer " + valid["RS256"],
    "bearer-case-spaces": b"\x40bEaReR    " + cookie + b"  ",
    "bearer-and-cookie": b"\x40Bearer " + valid["RS256"] + b"\n\x00sAccessToken=" + raw["alg-none"],
    "named": b"\x80  " + cookie + b" ",
    "empty-values": b"\x00sAccessToken=\n\x00sAccessToken=\"\"\n\x40Bearer \n\x00=;;=",
    "odd": b"\x00sAccessToken\n\x00;sAccessToken =x=y\n\x40Basic dXNlcjpwYXNz\n\xc0whatever",
}

def jwk_variant(**changes):
    key = dict(JWKS["keys"][0])
    key.update(changes)
    return {k: v for k, v in key.items() if v is not ...}

jwks = {
    "good": js(JWKS),
    "empty": b'{"keys":[]}',
    "not-object": b"[1,2,3]",
    "html": b"<html><body>502 Bad Gateway</body></html>",
    "truncated": js(JWKS)[:100],
    "oct": js({"keys": [{"kty": "oct", "kid": "s", "k": b64(HMAC_SECRET)}]}),
    "use-enc": js({"keys": [jwk_variant(use="enc")]}),
    "key-ops": js({"keys": [jwk_variant(key_ops=["encrypt"])]}),
    "alg-mismatch": js({"keys": [jwk_variant(alg="ES256")]}),
    "alg-hs256": js({"keys": [jwk_variant(alg="HS256")]}),
    "no-alg-no-use": js({"keys": [jwk_variant(alg=..., use=...)]}),
    "small-rsa": js({"keys": [jwk_variant(n=b64(int_bytes(rsa_pub.n)[:128]))]}),
    "bad-base64": js({"keys": [jwk_variant(n="!!!")]}),
    "padded-base64": js({"keys": [jwk_variant(e="AQAB==")]}),
    "ec-p521": js({"keys": [{"kty": "EC", "crv": "P-521", "x": "AA", "y": "AA"}]}),
    "ec-short": js({"keys": [{"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}]}),
    "x25519": js({"keys": [{"kty": "OKP", "crv": "X25519", "x": b64(bytes(32))}]}),
    "duplicate-kids": js({"keys": [JWKS["keys"][2], JWKS["keys"][2]]}),
    "no-kid": js({"keys": [{k: v for k, v in JWKS["keys"][2].items() if k != "kid"}]}),
    "extra-members": js({"keys": JWKS["keys"], "x": {"y": [1, 2, {"z": None}]}}),
    "keys-not-array": b'{"keys":{"kty":"RSA"}}',
    "member-not-object": b'{"keys":[1,"a",null,true]}',
}

out = os.path.join(HERE, "seeds")
shutil.rmtree(out, ignore_errors=True)
for target, seeds in [
    ("verify_token", {**{f"raw-{k}": b"\x00" + v for k, v in raw.items()},
                      **{f"signed-{k}": b"\x80" + h + b"\xff" + p for k, (h, p) in signed.items()}}),
    ("token_source", sources),
    ("jwks_parse", jwks),
]:
    os.makedirs(os.path.join(out, target))
    for name, data in seeds.items():
        with open(os.path.join(out, target, name), "wb") as f:
            f.write(data)
with open(os.path.join(HERE, "keys.jwks.json"), "w") as f:
    json.dump(JWKS, f, indent=2)
    f.write("\n")
print("wrote", sum(len(os.listdir(os.path.join(out, t))) for t in os.listdir(out)), "seeds")
