"""Hidden strata (docs/draw-algorithm.md §3.2): salted commitments to each entity's stratum.

The public package must not tell which entities share a risk class, yet bind the draw to
the strata the auditor package holds. Each entity's stratum is committed to with a salt
only the auditor package (and, for its own row, the entity) holds; each stratum's record
(label, k, cutoff) likewise. Salts come from one random key per draw, so the auditor
package carries the key, not millions of salts, and an entity's salt tells nothing of
another's (HMAC-SHA-256 is a pseudo-random function of its key).

Standard library only: the verifier (scheduler/verify.py) and the 40-line program of the
docs recompute these with nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence

COMMITMENTS_FILE = "commitments.csv"
_KEY = re.compile(r"[0-9a-f]{64}")
_HEX = re.compile(r"[0-9a-f]{64}")
NO_CUTOFF = "-"


def check_key(key: str) -> bytes:
    """A commitment key is 64 lowercase hex digits (32 random bytes); returns the bytes."""
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise ValueError("分层承诺密钥（commitment_key）须为 64 位小写十六进制数")
    return bytes.fromhex(key)


def entity_salt(key: bytes, entity_id: str) -> str:
    """§3.2: salt(e) = HMAC-SHA-256(key, UTF-8("entity|" + e)), 64 hex digits."""
    return hmac.digest(key, ("entity|" + entity_id).encode("utf-8"), "sha256").hex()


def entity_commitment(salt: str, stratum: str, entity_id: str) -> str:
    """§3.2: commitment(e) = SHA-256(UTF-8(salt + "|" + stratum + "|" + e)), 64 hex digits."""
    return hashlib.sha256(f"{salt}|{stratum}|{entity_id}".encode("utf-8")).hexdigest()


def stratum_salt(key: bytes, stratum: str) -> str:
    """§3.2: salt(s) = HMAC-SHA-256(key, UTF-8("stratum|" + s))."""
    return hmac.digest(key, ("stratum|" + stratum).encode("utf-8"), "sha256").hex()


def stratum_commitment(salt: str, stratum: str, k: int, cutoff: str | None) -> str:
    """§3.2: SHA-256(UTF-8(salt + "|" + s + "|" + k + "|" + cutoff)), cutoff "-" when k = 0."""
    return hashlib.sha256(f"{salt}|{stratum}|{k}|{cutoff or NO_CUTOFF}".encode("utf-8")).hexdigest()


def query_code(key: bytes, entity_id: str) -> str:
    """§3.4: an entity's query code (查询码) for one draw: HMAC-SHA-256(key, "code|" + e), its
    first 10 bytes in base32, as four groups of four ("ABCD-EFGH-JKLM-NPQR", 80 bits)."""
    text = base64.b32encode(hmac.digest(key, ("code|" + entity_id).encode("utf-8"), "sha256")[:10]).decode("ascii")
    return "-".join(text[i:i + 4] for i in range(0, 16, 4))


def normalize_code(text: str) -> str:
    """A query code as typed: spaces and dashes dropped, upper case, regrouped."""
    t = "".join(ch for ch in (text or "").upper() if ch not in " -\t")
    return "-".join(t[i:i + 4] for i in range(0, len(t), 4))


def _hmac_sha256_prefixed(key: bytes, prefix: bytes) -> tuple[hashlib._Hash, hashlib._Hash]:
    """HMAC-SHA-256 (RFC 2104) split at its two hashes: the inner hasher already fed
    (key XOR ipad) + `prefix`, the outer one (key XOR opad). For a message m starting with
    `prefix`, HMAC(key, m) = outer.update(inner.update(rest of m).digest()).digest(), on
    copies: the key's two pad blocks are hashed once for a whole frame, not once per entity
    (`hmac.digest` redoes them on every call; this halves commitments.csv's time)."""
    if len(key) > 64:  # RFC 2104: a key longer than the block is hashed first
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key) + prefix)
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    return inner, outer


def commitments_csv(key: bytes, rows: Iterable[tuple[str, str]]) -> bytes:
    """§3.2: commitments.csv, "entity_id,commitment\\n" in the given (the frame's) order.
    entity_salt and entity_commitment inlined, the HMAC on prefixed hashers
    (`_hmac_sha256_prefixed`); tests hold it to entity_salt and entity_commitment."""
    inner, outer = _hmac_sha256_prefixed(key, b"entity|")
    sha = hashlib.sha256
    out = []
    for e, s in rows:
        i = inner.copy()
        i.update(e.encode("utf-8"))
        o = outer.copy()
        o.update(i.digest())
        out.append(f"{e},{sha(f'{o.hexdigest()}|{s}|{e}'.encode('utf-8')).hexdigest()}\n")
    return "".join(out).encode("utf-8")


def hidden_strata(key: bytes, strata: Sequence[tuple[str, int, str | None]]) -> list[dict[str, str]]:
    """§3.2: the strata's commitments sorted bytewise, labelled S1..Sn in that order."""
    cs = sorted(stratum_commitment(stratum_salt(key, s), s, k, c) for s, k, c in strata)
    return [{"label": f"S{i}", "commitment": c} for i, c in enumerate(cs, start=1)]


def parse_commitments(data: bytes) -> list[tuple[str, str]]:
    """The (entity_id, commitment) rows of commitments.csv; ValueError when malformed."""
    text = data.decode("utf-8")
    if text and not text.endswith("\n"):
        raise ValueError("commitments.csv 必须以换行结尾")
    rows = []
    for no, line in enumerate(text[:-1].split("\n") if text else [], start=1):
        e, sep, c = line.partition(",")
        if not sep or not _HEX.fullmatch(c):
            raise ValueError(f"commitments.csv 第 {no} 行格式错误：应为“对象标识,64位十六进制承诺值”")
        rows.append((e, c))
    return rows
