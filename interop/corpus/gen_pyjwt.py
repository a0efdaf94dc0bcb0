"""Corpus half signed by PyJWT (Python): one key pair per algorithm, every
variant of corpus/variants.json per key, and the JWKS of the published keys.

Usage: python corpus/gen_pyjwt.py OUT.json
"""

import base64
import json
import pathlib
import sys
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

SPEC = json.loads((pathlib.Path(__file__).parent / "variants.json").read_text())
NOW = int(time.time())
RSA_ALGS = {"RS256", "RS384", "RS512", "PS256"}
# The other RSA alg an RSA key is misused with in `alg-mismatch`.
MISMATCH = {"RS256": "PS256", "RS384": "PS256", "RS512": "PS256", "PS256": "RS256"}


def generate(alg):
    if alg in RSA_ALGS:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "ES384":
        return ec.generate_private_key(ec.SECP384R1())
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(alg)


def public_jwk(alg, private_key):
    if alg in RSA_ALGS:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    elif alg.startswith("ES"):
        jwk = jwt.algorithms.ECAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    else:
        jwk = jwt.algorithms.OKPAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    return jwk


def claims(variant):
    base = {"sub": "user-pyjwt", "iat": NOW, "exp": NOW + 3600, "iss": SPEC["issuer"], "aud": SPEC["audience"]}
    if variant == "expired":
        return {**base, "iat": NOW - 4200, "exp": NOW - 600}
    if variant == "not-yet-valid":
        return {**base, "nbf": NOW + 600}
    if variant == "wrong-issuer":
        return {**base, "iss": "https://evil.interop.test"}
    if variant == "wrong-audience":
        return {**base, "aud": "another-api"}
    if variant == "expired-wrong-audience":
        return {**base, "iat": NOW - 4200, "exp": NOW - 600, "aud": "another-api"}
    return base


def sign(payload, key, alg, kid):
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid, "typ": "JWT"})


def tamper(token):
    header, payload, signature = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body["sub"] = "admin"
    encoded = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    return f"{header}.{encoded}.{signature}"


def main(out):
    keys, cases = [], []
    for alg in SPEC["algorithms"]:
        kid = f"pyjwt-{alg}"
        key = generate(alg)
        keys.append({**public_jwk(alg, key), "kid": kid, "alg": alg, "use": "sig"})
        other = generate(alg)
        for variant, about in SPEC["variants"].items():
            if about.get("rsa_only") and alg not in RSA_ALGS:
                continue
            if variant == "tampered":
                token = tamper(sign(claims("valid"), key, alg, kid))
            elif variant == "wrong-key":
                token = sign(claims("valid"), other, alg, kid)
            elif variant == "unknown-kid":
                token = sign(claims("valid"), other, alg, f"pyjwt-unpublished-{alg}")
            elif variant == "alg-mismatch":
                token = sign(claims("valid"), key, MISMATCH[alg], kid)
            else:
                token = sign(claims(variant), key, alg, kid)
            cases.append({
                "id": f"pyjwt/{alg}/{variant}", "generator": "pyjwt", "alg": alg,
                "variant": variant, "expected": about["expected"], "token": token,
            })
    document = {"generator": "pyjwt", "issuer": SPEC["issuer"], "audience": SPEC["audience"],
                "jwks": {"keys": keys}, "cases": cases}
    pathlib.Path(out).write_text(json.dumps(document, indent=1))
    print(f"gen_pyjwt: {len(cases)} tokens, {len(keys)} keys -> {out}")


if __name__ == "__main__":
    main(sys.argv[1])
