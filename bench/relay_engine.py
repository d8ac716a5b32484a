"""Encryption-engine benchmark: CPU per ~50 KB message to 2 recipients, ours vs a gpg subprocess.

Run ``.venv/bin/python bench/relay_engine.py`` (``--messages N``, default 200;
``--quick``: 20).
Not the relay benchmark of issue 6 (no SMTP here): only the step the relay
repeats per message. The script

1. makes two recipient keys with ``crypto.openpgp`` and imports their public
   keys into a temporary GNUPGHOME;
2. builds one ~50 KB message (text, HTML and a binary attachment);
3. measures CPU milliseconds per message (this process's CPU, plus the
   children's for gpg) for:

   * ``encrypt_message``: the whole PGP/MIME builder (serialise, encrypt, armor, parse);
   * ``openpgp.encrypt``: PGPy's encryption step alone (binary, no armor);
   * ``armor``: our ASCII armor of that output (fast CRC-24);
   * PGPy's own armoring (``str(message)``), for comparison;
   * ``gpg --encrypt --armor`` in one subprocess per message (GnuPG-based relays' way),
     fed the same MIME entity;

   the steps take turns message by message (the order rotated each time), and
   the table shows the median of each;
4. checks the answers first: what the builder made and what the gpg subprocess
   made must each open, with ``gpg`` and each recipient's private key alone, to
   the message's parts (a difference ends the run with exit status 1).

The issue allows a faster engine for the encryption step alone if PGPy's exceeds
~7 ms; the script prints whether it does.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pgpy

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.relay_copies import Keyrings
from bench.report import exit_status, rotated, speed_ratio, verify
from crypto import openpgp
from crypto.armor import armor
from crypto.pgpmime import encrypt_message

GPG_BUDGET_MS = 7.0


def sample_message() -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"] = "ann@example.org", "bob@example.org, carol@example.org"
    message["Subject"] = "Benchmark message"
    text = "A line of ordinary mail text, repeated to make a realistic body.\n" * 150
    message.set_content(text)
    message.add_alternative(f"<html><body><pre>{text}</pre></body></html>", subtype="html")
    message.add_attachment(os.urandom(24_000), "application", "octet-stream", filename="a.bin")
    return BytesParser(policy=policy.default).parsebytes(message.as_bytes(policy=policy.SMTP))


def cpu_ms(step: Callable[[], object]) -> float:
    """CPU milliseconds of one call of ``step``, own and children's (for subprocesses)."""
    before = _cpu_seconds()
    step()
    return (_cpu_seconds() - before) * 1000


def _cpu_seconds() -> float:
    own = time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own + children.ru_utime + children.ru_stime


def leaves(entity: bytes) -> list[bytes]:
    """The decoded payload of every leaf part: what a reader of the message gets."""
    parsed = BytesParser(policy=policy.default).parsebytes(entity)
    return [part.get_payload(decode=True) for part in parsed.walk() if not part.is_multipart()]


def check_answers(
    message: EmailMessage, public: list, gpg_encrypt: list[str], entity: bytes, keyrings: Keyrings
) -> None:
    """Both contenders' output opens, with every recipient's key alone, to the message."""
    built = encrypt_message(message, public)
    armored = built.get_payload()[1].get_payload(decode=True)
    piped = subprocess.run(gpg_encrypt, input=entity, check=True, capture_output=True).stdout
    for address in keyrings.homes:
        opened = keyrings.decrypt(address, armored) or b""
        verify(f"builder's copy opened by {address}", "encrypt_message", leaves(opened),
               leaves(message.as_bytes(policy=policy.SMTP)))  # fmt: skip
        verify(f"gpg's copy opened by {address}", "gpg", keyrings.decrypt(address, piped), entity)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="20 messages")
    args = parser.parse_args()
    runs = 20 if args.quick else args.messages
    addresses = ("bob@example.org", "carol@example.org")
    keys = [openpgp.new_key(address) for address in addresses]
    public = [key.pubkey for key in keys]
    message = sample_message()
    raw = message.as_bytes(policy=policy.SMTP)
    entity = raw.split(b"\r\n\r\n", 1)[1]
    binary = openpgp.encrypt(entity, public)
    pgpy_message = pgpy.PGPMessage.from_blob(binary)
    home = Path(tempfile.mkdtemp(prefix="gpgb"))
    gpg = ["gpg", "--homedir", str(home), "--batch", "--no-random-seed-file", "--quiet"]
    keyrings = Keyrings(home, {a: str(key) for a, key in zip(addresses, keys, strict=True)}, "")
    try:
        for key in keys:
            exported = openpgp.armored_public_key(key).encode()
            subprocess.run([*gpg, "--import"], input=exported, check=True, capture_output=True)
        recipients = [arg for key in keys for arg in ("-r", str(key.fingerprint).replace(" ", ""))]
        gpg_encrypt = [*gpg, "--trust-model", "always", "--encrypt", "--armor", *recipients]
        if status := exit_status(
            lambda: check_answers(message, public, gpg_encrypt, entity, keyrings)
        ):
            return status
        rows = [
            ("encrypt_message (whole PGP/MIME builder)", lambda: encrypt_message(message, public)),
            ("  openpgp.encrypt (PGPy, binary)", lambda: openpgp.encrypt(entity, public)),
            ("  armor (ours, fast CRC-24)", lambda: armor("MESSAGE", binary)),
            ("  PGPy's own armoring, for comparison", lambda: str(pgpy_message)),
            (
                "gpg --encrypt --armor subprocess",
                lambda: subprocess.run(gpg_encrypt, input=entity, check=True, capture_output=True),
            ),
        ]
        print(f"message: {len(raw):,} bytes, 2 recipients, {runs} runs each, medians")
        samples: dict[str, list[float]] = {label: [] for label, _ in rows}
        for turn in range(runs + 1):  # turn 0 warms up
            for label, step in rotated(rows, turn):
                spent = cpu_ms(step)
                if turn:
                    samples[label].append(spent)
        results = {label: statistics.median(values) for label, values in samples.items()}
        for label, _ in rows:
            print(f"{label:<42} {results[label]:7.2f} ms CPU/message")
    finally:
        keyrings.close()
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)
        shutil.rmtree(home, ignore_errors=True)
    ours, theirs = results[rows[0][0]], results[rows[-1][0]]
    step = results[rows[1][0]]
    print(f"gpg subprocess CPU / builder CPU: {speed_ratio(theirs, ours):.2f}")
    verdict = "within" if step <= GPG_BUDGET_MS else "OVER"
    print(f"PGPy encryption step: {step:.2f} ms, {verdict} the {GPG_BUDGET_MS} ms budget")
    return 0


if __name__ == "__main__":
    sys.exit(main())
