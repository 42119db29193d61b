"""py_webauthn's verdict on a ceremony a browser made, for
tests/e2e/test_api_passkeys.py. Runs in the reference venv
(scripts/ref/setup.sh); reads one JSON object on stdin and prints one.

  passkeys_pyref.py registration   {credential, challenge, origin, rp_id}
      -> {credential_id, credential_public_key, sign_count, ...}
  passkeys_pyref.py authentication {credential, challenge, origin, rp_id,
                                    public_key, sign_count}
      -> {new_sign_count, ...}

Bytes are base64url without padding, as in the WebAuthn JSON forms.
User verification is required, as vigil requires it. Any refusal by
py_webauthn is an exception: exit status 1 with its message."""
import base64
import json
import sys

from webauthn import verify_authentication_response, verify_registration_response


def b64u_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64u_encode(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def main():
    kind = sys.argv[1]
    a = json.load(sys.stdin)
    if kind == "registration":
        r = verify_registration_response(
            credential=a["credential"], expected_challenge=b64u_decode(a["challenge"]),
            expected_origin=a["origin"], expected_rp_id=a["rp_id"],
            require_user_verification=True)
        out = {"credential_id": b64u_encode(r.credential_id),
               "credential_public_key": b64u_encode(r.credential_public_key),
               "sign_count": r.sign_count, "fmt": str(getattr(r.fmt, "value", r.fmt)),
               "user_verified": r.user_verified}
    elif kind == "authentication":
        r = verify_authentication_response(
            credential=a["credential"], expected_challenge=b64u_decode(a["challenge"]),
            expected_origin=a["origin"], expected_rp_id=a["rp_id"],
            credential_public_key=b64u_decode(a["public_key"]),
            credential_current_sign_count=a["sign_count"], require_user_verification=True)
        out = {"credential_id": b64u_encode(r.credential_id),
               "new_sign_count": r.new_sign_count, "user_verified": r.user_verified}
    else:
        sys.exit(f"unknown kind {kind!r}: registration or authentication")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
