"""Paid media: access tokens, free variants, key rotation, kadrctl token,
and access changes that take effect at once."""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import tempfile
import time
import unittest
import urllib.parse

from kadr_harness import API_KEY, Daemon, corpus, main

KADRCTL = os.environ.get("KADRCTL", "kadrctl")
SECRET_1 = b"integration-token-secret-one-0001"
SECRET_2 = b"integration-token-secret-two-0002"
KEYS = "k1:%s,k2:%s" % (base64.b64encode(SECRET_1).decode(),
                        base64.b64encode(SECRET_2).decode())
SECRETS = {"k1": SECRET_1, "k2": SECRET_2}
PAID_CACHE = "private, max-age=3600"
IMMUTABLE = "public, max-age=31536000, immutable"
FORBIDDEN_BODY = (b'{"error": "forbidden", "detail": "this media needs a '
                  b'valid access token"}\n')


def mint(media_id, kid="k1", expiry=None, variant="", viewer="",
         secret=None):
    """Mints a token the way docs/API.md describes, independently of the
    C code."""
    expiry = expiry if expiry is not None else int(time.time()) + 600
    secret = secret if secret is not None else SECRETS[kid]
    message = "\n".join(["kadr-token-v1", kid, media_id, str(expiry),
                         variant, viewer]).encode()
    mac = hmac.new(secret, message, hashlib.sha256).digest()
    mac_text = base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    return "~".join(["v1", kid, str(expiry), variant, viewer, mac_text])


def kadrctl_token(*args):
    return subprocess.run([KADRCTL, "token"] + list(args),
                          capture_output=True, text=True, timeout=30)


class PaidTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.kadr = Daemon("--token-keys", KEYS).start()
        resp = cls.kadr.upload_file(corpus("photos/phone-jolla.jpg"),
                                    "?access=paid")
        assert resp.status == 201, resp.body
        cls.id = resp.json()["id"]
        cls.full = cls.kadr.variant(cls.id, "w1080.jpg", key=True).body

    @classmethod
    def tearDownClass(cls):
        cls.kadr.__exit__(None, None, None)

    def get(self, name="w1080.jpg", token=None, bearer=None, headers=None,
            method="GET", media_id=None):
        path = "/v1/media/%s/%s" % (media_id or self.id, name)
        headers = dict(headers or {})
        if token is not None:
            path += "?token=" + urllib.parse.quote(token, safe="")
        if bearer is not None:
            headers["Authorization"] = "Bearer " + bearer
        return self.kadr.request(method, path, headers=headers)

    def check_forbidden(self, resp, head=False):
        self.assertEqual(resp.status, 403)
        self.assertEqual(resp.body, b"" if head else FORBIDDEN_BODY)
        self.assertEqual(resp.header("content-length"),
                         str(len(FORBIDDEN_BODY)))
        self.assertEqual(resp.header("content-type"), "application/json")
        self.assertEqual(resp.header("cache-control"), "private, no-store")
        self.assertEqual(resp.header("x-content-type-options"), "nosniff")

    def check_paid_ok(self, resp):
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.body, self.full)
        self.assertEqual(resp.header("cache-control"), PAID_CACHE)

    def denied_reasons(self):
        lines = [line for line in self.kadr.log_text().splitlines()
                 if "event=access.denied" in line]
        return [line.split("reason=")[1].split()[0] for line in lines]

    # ---- reading ----

    def test_no_token_forbidden(self):
        self.check_forbidden(self.get())
        self.check_forbidden(self.get(method="HEAD"), head=True)

    def test_query_token(self):
        self.check_paid_ok(self.get(token=mint(self.id)))

    def test_bearer_token(self):
        self.check_paid_ok(self.get(bearer=mint(self.id)))
        resp = self.get(headers={"Authorization": "bearer " + mint(self.id)})
        self.check_paid_ok(resp)

    def test_token_with_range_and_head(self):
        token = mint(self.id)
        resp = self.get(token=token, headers={"Range": "bytes=0-99"})
        self.assertEqual(resp.status, 206)
        self.assertEqual(resp.body, self.full[:100])
        self.assertEqual(resp.header("cache-control"), PAID_CACHE)
        resp = self.get(token=token, method="HEAD")
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.header("content-length"), str(len(self.full)))

    def test_unsatisfiable_range_not_stored(self):
        resp = self.get(token=mint(self.id),
                        headers={"Range": "bytes=%d-" % len(self.full)})
        self.assertEqual(resp.status, 416)
        self.assertEqual(resp.header("content-range"),
                         "bytes */%d" % len(self.full))
        self.assertEqual(resp.header("cache-control"), "no-store")

    def test_conditional_needs_token(self):
        etag = self.get(token=mint(self.id)).header("etag")
        self.check_forbidden(self.get(headers={"If-None-Match": etag}))
        resp = self.get(token=mint(self.id), headers={"If-None-Match": etag})
        self.assertEqual(resp.status, 304)

    def test_variant_bound_token(self):
        token = mint(self.id, variant="w1080.jpg")
        self.check_paid_ok(self.get(token=token))
        self.check_forbidden(self.get("w320.webp", token=token))

    def test_viewer_bound_token(self):
        self.check_paid_ok(self.get(token=mint(self.id, viewer="user-42")))

    def test_preview_is_public(self):
        resp = self.get("preview.jpg")
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.header("cache-control"), IMMUTABLE)

    def test_original_needs_api_key(self):
        for resp in (self.get("original"),
                     self.get("original", token=mint(self.id))):
            self.assertEqual(resp.status, 401)
            self.assertEqual(json.loads(resp.body)["error"], "unauthorized")
            self.assertEqual(resp.header("www-authenticate"),
                             'ApiKey header="X-Api-Key"')
            self.assertEqual(resp.header("cache-control"),
                             "private, no-store")
            self.assertEqual(resp.header("content-type"), "application/json")
        resp = self.kadr.variant(self.id, "original", key=True)
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.header("cache-control"), "private, no-store")

    def test_api_key_reads_paid(self):
        resp = self.kadr.variant(self.id, "w1080.jpg", key=True)
        self.check_paid_ok(resp)

    def test_key_rotation(self):
        self.check_paid_ok(self.get(token=mint(self.id, kid="k1")))
        self.check_paid_ok(self.get(token=mint(self.id, kid="k2")))

    # ---- rejections: same 403, reason in the log ----

    def test_rejections_same_response(self):
        good = mint(self.id)
        last = good[-1]
        tampered = good[:-1] + ("A" if last != "A" else "E")
        other_media = mint("AAAAAAAAAAAAAAAA")
        cases = [
            ("expired", mint(self.id, expiry=int(time.time()) - 1)),
            ("malformed", "v1~k1~nonsense"),
            ("malformed", "x" * 400),
            ("bad_mac", other_media),
            ("wrong_variant", mint(self.id, variant="w320.webp")),
            ("unknown_key", mint(self.id, kid="k9", secret=SECRET_1)),
            ("bad_mac", tampered),
            ("bad_mac", mint(self.id, secret=b"not-the-configured-secret")),
            ("bad_mac", good.replace("~~", "~user~", 1)),
        ]
        for reason, token in cases:
            with self.subTest(reason=reason, token=token[:40]):
                before = len(self.denied_reasons())
                self.check_forbidden(self.get(token=token))
                self.check_forbidden(self.get(bearer=token))
                reasons = self.denied_reasons()[before:]
                self.assertEqual(reasons, [reason, reason])

    def test_log_has_no_secret_or_token(self):
        token = mint(self.id)
        self.get(token=token)
        self.get(token=token[:-2] + "xx")
        log = self.kadr.log_text()
        self.assertNotIn(token.split("~")[-1][:20], log)
        self.assertNotIn(base64.b64encode(SECRET_1).decode(), log)
        self.assertNotIn(SECRET_1.decode(), log)

    # ---- kadrctl token ----

    def test_kadrctl_token_from_flags(self):
        out = kadrctl_token("--key-id", "k2", "--media", self.id,
                            "--ttl", "600", "--token-keys", KEYS)
        self.assertEqual(out.returncode, 0, out.stderr)
        token = out.stdout.strip()
        self.assertRegex(token, r"^v1~k2~\d+~~~[A-Za-z0-9_-]{43}$")
        self.check_paid_ok(self.get(token=token))

    def test_kadrctl_token_from_config(self):
        with tempfile.NamedTemporaryFile("w", suffix=".ini") as f:
            f.write("token_keys = %s\n" % KEYS)
            f.flush()
            out = kadrctl_token("--config", f.name, "--key-id", "k1",
                                "--media", self.id, "--variant", "w1080.jpg",
                                "--viewer", "u7", "--ttl", "60")
        self.assertEqual(out.returncode, 0, out.stderr)
        token = out.stdout.strip()
        self.assertRegex(token, r"^v1~k1~\d+~w1080\.jpg~u7~")
        expiry = int(token.split("~")[2])
        self.assertAlmostEqual(expiry, time.time() + 60, delta=10)
        self.check_paid_ok(self.get(token=token))
        self.check_forbidden(self.get("w320.webp", token=token))

    def test_kadrctl_token_errors(self):
        out = kadrctl_token("--key-id", "k9", "--media", self.id, "--ttl",
                            "60", "--token-keys", KEYS)
        self.assertEqual(out.returncode, 1)
        self.assertIn("no token key with id 'k9'", out.stderr)
        out = kadrctl_token("--key-id", "k1", "--media", self.id)
        self.assertEqual(out.returncode, 2)
        out = kadrctl_token("--key-id", "k1", "--media", self.id, "--ttl",
                            "60", "--token-keys", "k1:c2hvcnQ=")
        self.assertEqual(out.returncode, 1)
        self.assertNotIn("c2hvcnQ", out.stderr)
        for ttl in (" 5", "+5", "-5", "0", "5s", "", "99999999999"):
            out = kadrctl_token("--key-id", "k1", "--media", self.id,
                                "--ttl", ttl, "--token-keys", KEYS)
            self.assertEqual(out.returncode, 2, ttl)
            self.assertIn("invalid --ttl '%s'" % ttl, out.stderr)

    # ---- access changes ----

    def patch_access(self, media_id, access):
        resp = self.kadr.request("PATCH", "/v1/media/" + media_id,
                                 body='{"access": "%s"}' % access,
                                 headers={"Content-Type":
                                          "application/json"},
                                 key=True)
        self.assertEqual(resp.status, 200, resp.body)

    def test_patch_unlocks_and_locks_at_once(self):
        resp = self.kadr.upload_file(corpus("photos/orientation-portrait_6.jpg"),
                                     "?access=paid")
        self.assertEqual(resp.status, 201)
        media_id = resp.json()["id"]
        self.check_forbidden(self.get("w320.webp", media_id=media_id))
        self.patch_access(media_id, "public")
        resp = self.get("w320.webp", media_id=media_id)
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.header("cache-control"), IMMUTABLE)
        self.patch_access(media_id, "paid")
        self.check_forbidden(self.get("w320.webp", media_id=media_id))
        resp = self.get("w320.webp", media_id=media_id,
                        token=mint(media_id))
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.header("cache-control"), PAID_CACHE)


class ApiKeyRotationTest(unittest.TestCase):
    def test_two_keys_at_once(self):
        with tempfile.TemporaryDirectory() as folder:
            key_file = os.path.join(folder, "api_keys")
            with open(key_file, "w") as f:
                f.write("file-key-one\nfile-key-two\n")
            with Daemon("--api-keys", "old-key,new-key", "--api-keys-file",
                        key_file) as kadr:
                body = open(corpus("photos/phone-jolla.jpg"), "rb").read()
                for key in ["old-key", "new-key", "file-key-one",
                            "file-key-two"]:
                    with self.subTest(key=key):
                        resp = kadr.request("POST", "/v1/media", body=body,
                                            headers={"X-Api-Key": key})
                        self.assertEqual(resp.status, 201)
                for key in [API_KEY, "old-ke", "old-keyx", "", "OLD-KEY"]:
                    with self.subTest(key=key):
                        resp = kadr.request("POST", "/v1/media", body=body,
                                            headers={"X-Api-Key": key})
                        self.assertEqual(resp.status, 401)


if __name__ == "__main__":
    main()
