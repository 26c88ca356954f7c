"""C2PA provenance for generated videos: sign an MP4 with a manifest that says "AI-made", read it back.

The manifest is what platforms and viewers (Content Credentials) read to tell a generated video
from a camera's: a `c2pa.actions` assertion whose `c2pa.created` action carries the IPTC digital
source type for trained-model output, the software agent (our generator and the model behind it),
and a CreativeWork assertion naming the creator. c2pa-python signs in memory (streams + a MIME
type) with an ES256 key whose certificate chain comes from settings.

c2pa-python refuses a self-signed signing certificate and one without an accepted extended key
usage, so `ensure_dev_certificate` makes a two-level chain (a development root CA and a leaf it
signs, EKU emailProtection) — the shape checked to work (see docs/generation.md). A deployment
replaces it with a certificate from a CA on the C2PA trust list.

Django is imported lazily, only where settings are read, so the module runs on a GPU box alone.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
from pathlib import Path
from typing import Any

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

MP4_MIME = "video/mp4"
# IPTC NewsCodes digital source type for media made by a trained model (C2PA's "AI-generated").
AI_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
DEV_ORGANIZATION = "sora_social development"
# Leaf certificates are renewed by `ensure_dev_certificate` when fewer days than this remain.
_RENEW_BEFORE = dt.timedelta(days=30)


class ProvenanceError(Exception):
    """Signing material missing or unusable, or the library refused to sign. `code` is machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# --- Development certificate ----------------------------------------------------------------


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEV_ORGANIZATION),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        ]
    )


def certificate_files_valid(chain_path: Path, key_path: Path) -> bool:
    """Both files parse, the key belongs to the leaf, and the leaf is not about to expire."""
    try:
        certs = x509.load_pem_x509_certificates(chain_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError):
        return False
    if len(certs) < 2 or not isinstance(key, ec.EllipticCurvePrivateKey):
        return False
    leaf = certs[0]
    if leaf.public_key().public_numbers() != key.public_key().public_numbers():
        return False
    return leaf.not_valid_after_utc - dt.datetime.now(dt.UTC) > _RENEW_BEFORE


def ensure_dev_certificate(directory: str | Path) -> tuple[Path, Path]:
    """Create a development root CA and an ES256 signing certificate under `directory`.

    Writes `chain.pem` (leaf, then root) and `signer-key.pem` (the leaf's PKCS#8 key, mode 0600).
    Idempotent: valid existing files are left as they are. Returns (chain_path, key_path).
    """
    directory = Path(directory)
    return ensure_dev_certificate_at(directory / "chain.pem", directory / "signer-key.pem")


def ensure_dev_certificate_at(chain_path: Path, key_path: Path) -> tuple[Path, Path]:
    """`ensure_dev_certificate` with explicit file paths (settings name both separately)."""
    chain_path, key_path = Path(chain_path), Path(key_path)
    if certificate_files_valid(chain_path, key_path):
        return chain_path, key_path
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)  # tolerate small clock skew

    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name("sora_social development root CA")
    root_ski = x509.SubjectKeyIdentifier.from_public_key(root_key.public_key())
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(root_ski, critical=False)
        .sign(root_key, hashes.SHA256())
    )

    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("sora_social development signer"))
        .issuer_name(root_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=825))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        # c2pa-rs accepts only certain EKUs for signers; emailProtection is one of them.
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski), critical=False)
        .sign(root_key, hashes.SHA256())
    )

    chain_path.parent.mkdir(parents=True, exist_ok=True)
    key_path.parent.mkdir(parents=True, exist_ok=True)
    key_pem = leaf_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # Write the key with owner-only permissions from the start (no window where it is readable).
    key_tmp = key_path.with_suffix(key_path.suffix + ".tmp")
    key_tmp.unlink(missing_ok=True)
    with open(os.open(key_tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
        handle.write(key_pem)
    chain_tmp = chain_path.with_suffix(chain_path.suffix + ".tmp")
    chain_tmp.write_bytes(leaf.public_bytes(serialization.Encoding.PEM) + root.public_bytes(serialization.Encoding.PEM))
    # Replace both only once both are written, so a crash never leaves a mismatched pair.
    key_tmp.replace(key_path)
    chain_tmp.replace(chain_path)
    return chain_path, key_path


def root_certificate_pem(chain_path: str | Path) -> str:
    """The last certificate of a PEM chain file: the trust anchor to read our own manifests with."""
    certs = x509.load_pem_x509_certificates(Path(chain_path).read_bytes())
    return certs[-1].public_bytes(serialization.Encoding.PEM).decode()


# --- Signing ----------------------------------------------------------------------------------


def _signing_material() -> tuple[str, str, str | None, str]:
    """(chain PEM, key PEM, TSA URL or None, claim generator) from Django settings, read lazily."""
    from django.conf import settings

    chain_path = Path(settings.C2PA_CERT_CHAIN_PATH)
    key_path = Path(settings.C2PA_PRIVATE_KEY_PATH)
    missing = [str(path) for path in (chain_path, key_path) if not path.is_file()]
    if missing:
        raise ProvenanceError(
            "signing_certificate_missing",
            f"C2PA signing material not found: {', '.join(missing)}. "
            "Run `python manage.py make_dev_certificate` (part of `make setup`) for a development "
            "certificate, or set C2PA_CERT_CHAIN_PATH / C2PA_PRIVATE_KEY_PATH to real ones.",
        )
    tsa = getattr(settings, "C2PA_TSA_URL", "") or None
    generator = getattr(settings, "C2PA_CLAIM_GENERATOR", "sora_social/0.1")
    return chain_path.read_text(), key_path.read_text(), tsa, generator


def build_manifest(
    *,
    title: str,
    creator_handle: str,
    model: str,
    prompt_summary: str | None,
    job_id: str,
    claim_generator: str,
) -> dict[str, Any]:
    """The manifest definition c2pa-python's Builder takes (JSON-able dict)."""
    name, _, version = claim_generator.partition("/")
    agent = f"{claim_generator} ({model})"
    created: dict[str, Any] = {
        "action": "c2pa.created",
        "digitalSourceType": AI_SOURCE_TYPE,
        "softwareAgent": {"name": agent, "version": version or "0"},
        "parameters": {"job_id": job_id, "model": model},
    }
    if prompt_summary:
        created["description"] = prompt_summary
    return {
        "claim_generator_info": [{"name": name or claim_generator, "version": version or "0"}],
        "title": title,
        "format": MP4_MIME,
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": [created]}},
            {
                "label": "stds.schema-org.CreativeWork",
                "data": {
                    "@context": "https://schema.org",
                    "@type": "CreativeWork",
                    "name": title,
                    "author": [{"@type": "Person", "name": f"@{creator_handle}"}],
                    "identifier": job_id,
                    **({"abstract": prompt_summary} if prompt_summary else {}),
                },
                "kind": "Json",
            },
        ],
    }


def sign_mp4(
    data: bytes,
    *,
    title: str,
    creator_handle: str,
    model: str,
    prompt_summary: str | None,
    job_id: str,
) -> bytes:
    """Embed a signed C2PA manifest declaring `data` (an MP4) AI-generated; return the signed MP4."""
    chain_pem, key_pem, tsa_url, generator = _signing_material()
    manifest = build_manifest(
        title=title,
        creator_handle=creator_handle,
        model=model,
        prompt_summary=prompt_summary,
        job_id=job_id,
        claim_generator=generator,
    )
    info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain_pem.encode(), key_pem.encode(), tsa_url)
    out = io.BytesIO()
    try:
        with c2pa.Signer.from_info(info) as signer, c2pa.Builder(manifest) as builder:
            builder.sign(signer, MP4_MIME, io.BytesIO(data), out)
    except c2pa.C2paError as exc:
        raise ProvenanceError("c2pa_signing_failed", f"C2PA signing failed: {exc}") from exc
    return out.getvalue()


# --- Reading ------------------------------------------------------------------------------------


def read_manifest(data: bytes, *, trust_anchors_pem: str | None = None) -> dict | None:
    """The active manifest of an MP4 with its validation outcome, or None when it carries none.

    Returns the active manifest as c2pa-python reports it (`claim_generator_info`, `title`,
    `assertions`, `signature_info`, ...) plus:
    - `validation_state`: "Invalid", "Valid" (signature and hashes check out) or "Trusted" (and
      the signer chains to a trust anchor);
    - `validation_failures`: the failure entries ({code, url, explanation}), empty when none.
      Bytes changed after signing give "Invalid" with `assertion.bmffHash.mismatch`; a signer not
      chaining to `trust_anchors_pem` (the default when none are given) lists
      `signingCredential.untrusted` without making the state "Invalid".
    Raises ProvenanceError("unreadable_asset") when the bytes are not an MP4 at all.
    """
    context = c2pa.Context.from_dict({"trust": {"trust_anchors": trust_anchors_pem}}) if trust_anchors_pem else None
    try:
        reader = c2pa.Reader.try_create(MP4_MIME, io.BytesIO(data), None, context)
    except c2pa.C2paError as exc:
        raise ProvenanceError("unreadable_asset", f"Not a readable MP4: {exc}") from exc
    if reader is None:
        return None
    with reader:
        store = json.loads(reader.json())
    active_label = store.get("active_manifest")
    manifest = dict(store.get("manifests", {}).get(active_label) or {})
    manifest["label"] = active_label
    manifest["validation_state"] = store.get("validation_state")
    results = (store.get("validation_results") or {}).get("activeManifest") or {}
    failures = list(results.get("failure") or [])
    # Older readers only fill `validation_status`; merge without listing an entry twice.
    seen = {(item.get("code"), item.get("url")) for item in failures}
    for item in store.get("validation_status") or []:
        if (item.get("code"), item.get("url")) not in seen:
            failures.append(item)
    manifest["validation_failures"] = failures
    return manifest


def ai_source_types(manifest: dict) -> list[str]:
    """The digitalSourceType of every `c2pa.created` action in a manifest from `read_manifest`."""
    found = []
    for assertion in manifest.get("assertions") or []:
        if not str(assertion.get("label", "")).startswith("c2pa.actions"):
            continue
        for action in (assertion.get("data") or {}).get("actions") or []:
            if action.get("action") == "c2pa.created" and action.get("digitalSourceType"):
                found.append(action["digitalSourceType"])
    return found
