"""PyJWT as a peer verifier: classifies each token of the corpora the way an
application following PyJWT's docs would (PyJWKClient + jwt.decode with the
PyJWK, an allow-list of asymmetric algorithms, issuer and audience).

Usage: python corpus/pyjwt_peer.py CASES.json  (reads [{id, token, jwks_url,
issuer, audience}], prints {id: outcome} as JSON)
"""

import json
import sys

import jwt

ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]


def classify(client, case):
    try:
        signing_key = client.get_signing_key_from_jwt(case["token"])
        jwt.decode(case["token"], signing_key, algorithms=ALGORITHMS,
                   audience=case["audience"], issuer=case["issuer"])
        return "valid", None
    except jwt.ExpiredSignatureError as error:
        return "needs_refresh", repr(error)
    except jwt.PyJWKClientConnectionError as error:
        return "unavailable", repr(error)
    except (jwt.InvalidTokenError, jwt.PyJWKClientError) as error:
        return "invalid", repr(error)


def main(path):
    with open(path, encoding="utf-8") as file:
        cases = json.load(file)
    clients = {}
    results = {}
    for case in cases:
        url = case["jwks_url"]
        client = clients.setdefault(url, jwt.PyJWKClient(url, cache_keys=True))
        outcome, detail = classify(client, case)
        results[case["id"]] = {"outcome": outcome, "detail": detail}
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
