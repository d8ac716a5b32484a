"""The ``relay`` section: where the OpenPGP relay finds its key-encryption key (KEK).

The KEK wraps every private key in the database. It is 32 random bytes,
base64-encoded (``python -c "import base64, secrets;
print(base64.b64encode(secrets.token_bytes(32)).decode())"``), kept out of the
configuration file: in a file readable only by Murmeli, or in an environment
variable. The file wins when both are set.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from config.schema import option, optional, path, text


@dataclass(frozen=True)
class RelaySettings:
    kek_file: Path | None = option(
        None, optional(path), "file holding the key-encryption key (32 random bytes, base64)"
    )
    kek_environment: str = option(
        "MURMELI_KEK",
        text,
        "environment variable holding the key-encryption key when kek_file is not set",
    )
