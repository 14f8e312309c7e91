"""Configuration: file and flags, --check-config messages, secrets that
are never printed, defaults from the host, and the key reference in
docs/CONFIGURATION.md."""

import os
import re
import signal
import subprocess
import tempfile
import time
import unittest

from kadr_harness import KADRD, Daemon, main

DOCS = os.path.join(os.path.dirname(__file__), "..", "..", "docs",
                    "CONFIGURATION.md")
SECRET_KEY = "s3cret-front-end-key-71c2"
# kid:base64 of 33 bytes; the base64 text is the secret.
TOKEN_SECRET = "c2VjcmV0LXRva2VuLWtleS1ieXRlcy0wMTIzNDU2Nzg5"
TOKEN_KEYS = "k1:" + TOKEN_SECRET


def run_kadrd(*args):
    return subprocess.run([KADRD] + list(args), capture_output=True,
                          text=True, timeout=30)


class ConfigFile:
    def __init__(self, text):
        self.dir = tempfile.TemporaryDirectory(prefix="kadr-config-")
        self.path = os.path.join(self.dir.name, "kadrd.ini")
        with open(self.path, "w") as f:
            f.write(text)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.dir.cleanup()


def check(text):
    with ConfigFile(text) as cfg:
        return run_kadrd("--check-config", cfg.path)


class CheckConfigTest(unittest.TestCase):
    def test_valid_file_prints_values(self):
        out = check("workers = 3\naccess_log = off\n")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("configuration is valid", out.stdout)
        self.assertIn("workers = 3\n", out.stdout)
        self.assertIn("access_log = off\n", out.stdout)

    def test_bad_number_names_key_and_value(self):
        out = check("max_upload_bytes = lots\n")
        self.assertEqual(out.returncode, 1)
        self.assertIn("'max_upload_bytes'", out.stderr)
        self.assertIn("'lots'", out.stderr)

    def test_unknown_key_named(self):
        out = check("max_uplod_bytes = 10\n")
        self.assertEqual(out.returncode, 1)
        self.assertIn("unknown configuration key 'max_uplod_bytes'",
                      out.stderr)

    def test_bad_bool_named(self):
        out = check("access_log = perhaps\n")
        self.assertEqual(out.returncode, 1)
        self.assertIn("'access_log'", out.stderr)
        self.assertIn("'perhaps'", out.stderr)

    def test_bad_listen_named(self):
        out = check("listen = localhost\n")
        self.assertEqual(out.returncode, 1)
        self.assertIn("'listen'", out.stderr)
        self.assertIn("'localhost'", out.stderr)

    def test_https_webhook_rejected(self):
        out = check("webhook_url = https://127.0.0.1/hook\n")
        self.assertEqual(out.returncode, 1)
        self.assertIn("'webhook_url'", out.stderr)

    def test_bad_log_level_named(self):
        out = check("log_level = loud\n")
        self.assertEqual(out.returncode, 1)
        self.assertIn("'log_level'", out.stderr)
        self.assertIn("'loud'", out.stderr)

    def test_missing_file_named(self):
        out = run_kadrd("--check-config", "/nonexistent/kadrd.ini")
        self.assertEqual(out.returncode, 1)
        self.assertIn("/nonexistent/kadrd.ini", out.stderr)

    def test_folder_rejected(self):
        with tempfile.TemporaryDirectory(prefix="kadr-config-") as folder:
            out = run_kadrd("--check-config", folder)
        self.assertEqual(out.returncode, 1)
        self.assertEqual(out.stderr, "kadrd: %s: configuration file '%s' is "
                         "not a regular file\n" % (folder, folder))

    def test_nul_byte_rejected(self):
        """A NUL byte would end the line early: 'workers = 2\\0junk'
        would read as workers = 2."""
        with ConfigFile("listen = 127.0.0.1:9\nworkers = 2\0junk\n") as cfg:
            out = run_kadrd("--check-config", cfg.path)
            self.assertEqual(out.returncode, 1)
            self.assertEqual(out.stderr, "kadrd: %s: configuration file '%s' "
                             "has a NUL byte on line 2\n" %
                             (cfg.path, cfg.path))

    def test_long_line_rejected(self):
        """The INI parser reads 199 bytes of a line at most and would
        read the rest as a line of its own, here setting workers."""
        url = "http://127.0.0.1:9000/"
        padding = "a" * (199 - len("webhook_url = " + url))
        with ConfigFile("webhook_url = %s%s\n" % (url, padding)) as cfg:
            out = run_kadrd("--check-config", cfg.path)
            self.assertEqual(out.returncode, 0, out.stderr)
        with ConfigFile("webhook_url = %s%sworkers = 7\n" %
                        (url, padding)) as cfg:
            out = run_kadrd("--check-config", cfg.path)
            self.assertEqual(out.returncode, 1)
            self.assertEqual(out.stderr, "kadrd: %s: %s:1: line longer than "
                             "199 bytes (put long key lists in api_keys_file "
                             "or token_keys_file, or pass the value as a "
                             "flag)\n" % (cfg.path, cfg.path))

    def test_reload_rejects_folder(self):
        """A SIGHUP with a folder in place of the file keeps the running
        configuration instead of falling back to defaults."""
        with ConfigFile("access_log = off\n") as cfg:
            with Daemon("--config", cfg.path) as d:
                os.rename(cfg.path, cfg.path + ".old")
                os.mkdir(cfg.path)
                os.kill(d.proc.pid, signal.SIGHUP)
                deadline = time.monotonic() + 10
                while ("config.reload_failed" not in d.log_text() and
                       time.monotonic() < deadline):
                    time.sleep(0.05)
                log = d.log_text()
                os.rmdir(cfg.path)
        self.assertIn("level=error event=config.reload_failed "
                      "error=\"invalid configuration\" "
                      "detail=\"configuration\\x20file\\x20'%s'\\x20is"
                      "\\x20not\\x20a\\x20regular\\x20file\"" %
                      cfg.path, log)
        self.assertNotIn("event=config.reloaded", log)

    def test_secrets_hidden(self):
        out = check("api_keys = %s\ntoken_keys = %s\n" %
                    (SECRET_KEY, TOKEN_KEYS))
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("api_keys = (hidden)\n", out.stdout)
        self.assertIn("token_keys = (hidden)\n", out.stdout)
        self.assertNotIn(SECRET_KEY, out.stdout + out.stderr)
        self.assertNotIn(TOKEN_SECRET, out.stdout + out.stderr)

    def test_bad_token_key_hides_secret(self):
        bad = "k1:" + TOKEN_SECRET + "%%%"
        out = check("token_keys = %s\n" % bad)
        self.assertEqual(out.returncode, 1)
        self.assertNotIn(TOKEN_SECRET, out.stdout + out.stderr)

    def test_secret_files_read(self):
        with tempfile.TemporaryDirectory() as tmp:
            keys = os.path.join(tmp, "api_keys")
            tokens = os.path.join(tmp, "token_keys")
            with open(keys, "w") as f:
                f.write(SECRET_KEY + "\n")
            with open(tokens, "w") as f:
                f.write(TOKEN_KEYS + "\n")
            out = check("api_keys_file = %s\ntoken_keys_file = %s\n" %
                        (keys, tokens))
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertNotIn(SECRET_KEY, out.stdout)
        self.assertNotIn(TOKEN_SECRET, out.stdout)

    def test_secret_files_checked(self):
        """A key file read through stdio would give no key for a folder,
        a key cut at a NUL byte, or a key cut at the buffer's end."""
        with tempfile.TemporaryDirectory() as tmp:
            nul = os.path.join(tmp, "nul")
            with open(nul, "wb") as f:
                f.write(b"first-key\nsecond\0key\n")
            large = os.path.join(tmp, "large")
            with open(large, "w") as f:
                f.write("k" * 8190 + "ey\n")
            cases = [
                ("api_keys_file", tmp, "'api_keys_file' '%s' is not a "
                 "regular file" % tmp),
                ("api_keys_file", nul, "'api_keys_file' '%s' has a NUL byte "
                 "on line 2" % nul),
                ("api_keys_file", large, "'api_keys_file' '%s' is larger "
                 "than 8191 bytes" % large),
                ("token_keys_file", tmp, "token keys file '%s' is not a "
                 "regular file" % tmp),
                ("token_keys_file", nul, "token keys file '%s' has a NUL "
                 "byte on line 2" % nul),
            ]
            for key, path, message in cases:
                with ConfigFile("%s = %s\n" % (key, path)) as cfg:
                    out = run_kadrd("--check-config", cfg.path)
                    self.assertEqual(out.returncode, 1, (key, path))
                    self.assertEqual(out.stderr, "kadrd: %s: %s\n" %
                                     (cfg.path, message))

    def test_missing_secret_file_named(self):
        out = check("api_keys_file = /nonexistent/keys\n")
        self.assertEqual(out.returncode, 1)
        self.assertIn("/nonexistent/keys", out.stderr)


class DefaultsTest(unittest.TestCase):
    def test_workers_from_host_cores(self):
        out = check("")
        self.assertEqual(out.returncode, 0, out.stderr)
        cores = len(os.sched_getaffinity(0))
        online = os.sysconf("SC_NPROCESSORS_ONLN")
        workers = int(re.search(r"^workers = (\d+)$", out.stdout,
                                re.M).group(1))
        self.assertIn(workers, (cores, online))

    def test_video_workers_bounded_by_memory(self):
        out = check("")
        online = os.sysconf("SC_NPROCESSORS_ONLN")
        memory_gib = (os.sysconf("SC_PHYS_PAGES") *
                      os.sysconf("SC_PAGE_SIZE")) // (1 << 30)
        expected = max(1, online // 2)
        if 1 <= memory_gib < expected:
            expected = memory_gib
        video = int(re.search(r"^video_workers = (\d+)$", out.stdout,
                              re.M).group(1))
        self.assertEqual(video, expected)


class HelpTest(unittest.TestCase):
    def test_help_lists_every_key(self):
        out = run_kadrd("--help")
        self.assertEqual(out.returncode, 0)
        docs = run_kadrd("--print-config-docs").stdout
        for name in re.findall(r"^\| `([a-z0-9_]+)` \|", docs, re.M):
            self.assertIn("--" + name.replace("_", "-"), out.stdout)

    def test_help_shows_no_secret(self):
        out = run_kadrd("--help", "--api-keys", SECRET_KEY)
        self.assertNotIn(SECRET_KEY, out.stdout + out.stderr)

    def test_docs_match_key_table(self):
        with open(DOCS) as f:
            text = f.read()
        begin = "<!-- BEGIN KEYS: kadrd --print-config-docs -->\n"
        end = "<!-- END KEYS -->"
        self.assertIn(begin, text)
        committed = text.split(begin, 1)[1].split(end, 1)[0]
        generated = run_kadrd("--print-config-docs").stdout
        self.assertEqual(committed, generated,
                         "docs/CONFIGURATION.md is out of date: paste the "
                         "output of kadrd --print-config-docs between the "
                         "markers")


class FlagsOverrideFileTest(unittest.TestCase):
    def test_flags_win_over_file(self):
        # The file asks for port 1 and no access log; the harness flags
        # (--listen 127.0.0.1:0) and --access-log on must win.
        with ConfigFile("listen = 127.0.0.1:1\naccess_log = off\n") as cfg:
            with Daemon("--config", cfg.path, "--access-log", "on") as d:
                self.assertNotEqual(d.port, 1)
                self.assertEqual(d.request("GET", "/healthz").status, 200)
                deadline = time.monotonic() + 10
                while ("event=http.access" not in d.log_text() and
                       time.monotonic() < deadline):
                    time.sleep(0.05)
                log = d.log_text()
        self.assertIn("event=http.access", log)

    def test_bad_flag_named(self):
        out = run_kadrd("--data", "/tmp/x", "--workers", "many")
        self.assertEqual(out.returncode, 2)
        self.assertIn("'workers'", out.stderr)
        self.assertIn("'many'", out.stderr)


if __name__ == "__main__":
    main()
