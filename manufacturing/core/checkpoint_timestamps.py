"""RFC 3161 time-stamps of checkpoint digests, from the authority at TSA_URL (pyHanko's client)."""

import asyncio
from datetime import datetime

from asn1crypto import cms
from pyhanko.sign.timestamps import HTTPTimeStamper

DIGEST_ALGORITHM = "sha256"


def timestamp(digest: bytes, url: str, timeout: float) -> bytes:
    """Have the authority at `url` time-stamp a SHA-256 digest; return the token (DER ContentInfo)."""
    stamper = HTTPTimeStamper(url, timeout=timeout)
    token = asyncio.run(stamper.async_timestamp(digest, DIGEST_ALGORITHM))
    return token.dump()


def stamped_digest(token: bytes) -> tuple[str, bytes, datetime]:
    """Return (hash algorithm, digest, time) that a time-stamp token attests."""
    info = cms.ContentInfo.load(token)["content"]["encap_content_info"]["content"].parsed
    imprint = info["message_imprint"]
    return imprint["hash_algorithm"]["algorithm"].native, imprint["hashed_message"].native, info["gen_time"].native
