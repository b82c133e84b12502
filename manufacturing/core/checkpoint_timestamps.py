"""RFC 3161 time-stamps of checkpoint digests, from the authority at TSA_URL (pyHanko's client).

pyHanko is imported where a stamp is asked for or checked, not with the application (it costs every start-up).
"""

import hashlib
from datetime import datetime

from asn1crypto import cms

from manufacturing.core import coroutines

DIGEST_ALGORITHM = "sha256"


def authority(url: str, timeout: float):
    """pyHanko's client of the time-stamping authority at `url`."""
    from pyhanko.sign.timestamps import HTTPTimeStamper

    return HTTPTimeStamper(url, timeout=timeout)


def timestamp(digest: bytes, url: str, timeout: float) -> bytes:
    """Have the authority at `url` time-stamp a SHA-256 digest; return the token (DER ContentInfo)."""
    stamper = authority(url, timeout)
    token = coroutines.run(stamper.async_timestamp(digest, DIGEST_ALGORITHM))
    return token.dump()


def stamped_digest(token: bytes) -> tuple[str, bytes, datetime]:
    """Return (hash algorithm, digest, time) that a time-stamp token attests."""
    info = cms.ContentInfo.load(token)["content"]["encap_content_info"]["content"].parsed
    imprint = info["message_imprint"]
    return imprint["hash_algorithm"]["algorithm"].native, imprint["hashed_message"].native, info["gen_time"].native


def token_holds(token: bytes, digest: bytes) -> bool:
    """Tell whether the token's own signature is intact and it attests this SHA-256 digest.

    The authority's certificate is not validated against a trust root here: the token proves when the digest
    existed to whoever trusts the authority named in it.
    """
    algorithm, stamped, _ = stamped_digest(token)
    if algorithm != DIGEST_ALGORITHM or stamped != digest:
        return False
    from pyhanko.sign.validation.generic_cms import (
        extract_certs_for_validation,
        extract_signer_info,
        validate_sig_integrity,
    )

    signed_data = cms.ContentInfo.load(token)["content"]
    signer_info = extract_signer_info(signed_data)
    certificate = extract_certs_for_validation(signed_data).signer_cert
    content = signed_data["encap_content_info"]["content"].contents
    content_digest = hashlib.new(signer_info["digest_algorithm"]["algorithm"].native, content).digest()
    intact, valid = validate_sig_integrity(signer_info, certificate, "tst_info", content_digest)
    return intact and valid
