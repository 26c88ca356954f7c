"""C2PA provenance: the development certificate, signing an MP4 so it says "AI-generated",
reading it back, and tampering showing up in the validation."""

from __future__ import annotations

import io
import os
import stat

import numpy as np
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.core.management import call_command

from generation import provenance
from generation.media import encode_mp4


@pytest.fixture(scope="module")
def cert_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("c2pa")


@pytest.fixture
def signing_settings(settings, cert_dir):
    chain, key = provenance.ensure_dev_certificate(cert_dir)
    settings.C2PA_CERT_CHAIN_PATH = chain
    settings.C2PA_PRIVATE_KEY_PATH = key
    settings.C2PA_TSA_URL = ""
    settings.C2PA_CLAIM_GENERATOR = "sora_social/0.1"
    return chain, key


@pytest.fixture(scope="module")
def mp4() -> bytes:
    rng = np.random.default_rng(3)
    frames = rng.integers(0, 256, size=(12, 64, 96, 3), dtype=np.uint8)
    return encode_mp4(frames, 12, watermark_text="Sora Social · @alice")


def _sign(data: bytes, **overrides) -> bytes:
    kwargs = dict(
        title="job_abc.mp4",
        creator_handle="alice",
        model="sora-social-tiny-1",
        prompt_summary="a red ball bounces",
        job_id="job_abc",
    )
    kwargs.update(overrides)
    return provenance.sign_mp4(data, **kwargs)


def test_dev_certificate_has_the_shape_c2pa_accepts(tmp_path):
    chain_path, key_path = provenance.ensure_dev_certificate(tmp_path / "certs")
    assert chain_path.name == "chain.pem" and key_path.name == "signer-key.pem"
    leaf, root = x509.load_pem_x509_certificates(chain_path.read_bytes())
    # Root: a CA that signs certificates.
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    root_usage = root.extensions.get_extension_for_class(x509.KeyUsage).value
    assert root_usage.key_cert_sign and root_usage.crl_sign
    root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    # Leaf: signed by the root, digitalSignature (critical), EKU emailProtection, SKI + AKI, CN/O/C.
    assert leaf.issuer == root.subject and leaf.subject != root.subject
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in list(eku)
    aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    for oid in (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME, NameOID.COUNTRY_NAME):
        assert leaf.subject.get_attributes_for_oid(oid)
    root.public_key().verify(leaf.signature, leaf.tbs_certificate_bytes, ec.ECDSA(leaf.signature_hash_algorithm))
    # The private key is for the owner only.
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
    assert provenance.certificate_files_valid(chain_path, key_path)


def test_dev_certificate_is_idempotent_and_repairs_a_broken_pair(tmp_path):
    chain_path, key_path = provenance.ensure_dev_certificate(tmp_path)
    chain, key = chain_path.read_bytes(), key_path.read_bytes()
    provenance.ensure_dev_certificate(tmp_path)
    assert chain_path.read_bytes() == chain and key_path.read_bytes() == key
    # A key that does not belong to the chain is replaced by a fresh, matching pair.
    other_dir = tmp_path / "other"
    _, other_key = provenance.ensure_dev_certificate(other_dir)
    key_path.write_bytes(other_key.read_bytes())
    assert not provenance.certificate_files_valid(chain_path, key_path)
    provenance.ensure_dev_certificate(tmp_path)
    assert provenance.certificate_files_valid(chain_path, key_path)
    assert chain_path.read_bytes() != chain


def test_management_command_creates_then_keeps_the_certificate(settings, tmp_path):
    settings.C2PA_CERT_CHAIN_PATH = tmp_path / "c2pa" / "chain.pem"
    settings.C2PA_PRIVATE_KEY_PATH = tmp_path / "c2pa" / "signer-key.pem"
    out = io.StringIO()
    call_command("make_dev_certificate", stdout=out)
    assert "Created" in out.getvalue()
    assert provenance.certificate_files_valid(settings.C2PA_CERT_CHAIN_PATH, settings.C2PA_PRIVATE_KEY_PATH)
    before = settings.C2PA_CERT_CHAIN_PATH.read_bytes()
    out = io.StringIO()
    call_command("make_dev_certificate", stdout=out)
    assert "already in place" in out.getvalue()
    assert settings.C2PA_CERT_CHAIN_PATH.read_bytes() == before
    call_command("make_dev_certificate", "--force", stdout=io.StringIO())
    assert settings.C2PA_CERT_CHAIN_PATH.read_bytes() != before


def test_unsigned_mp4_has_no_manifest(mp4):
    assert provenance.read_manifest(mp4) is None


def test_sign_then_read_back_says_ai_generated_by_us(signing_settings, mp4):
    chain, _ = signing_settings
    signed = _sign(mp4)
    assert signed != mp4 and len(signed) > len(mp4)
    manifest = provenance.read_manifest(signed)
    assert manifest is not None and manifest["label"].startswith("urn:c2pa:")
    assert provenance.ai_source_types(manifest) == [provenance.AI_SOURCE_TYPE]
    assert provenance.AI_SOURCE_TYPE == "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
    assert manifest["title"] == "job_abc.mp4"
    assert manifest["claim_generator_info"][0]["name"] == "sora_social"
    actions = next(a for a in manifest["assertions"] if a["label"].startswith("c2pa.actions"))["data"]["actions"]
    created = actions[0]
    assert created["action"] == "c2pa.created"
    assert (
        "sora_social" in created["softwareAgent"]["name"] and "sora-social-tiny-1" in created["softwareAgent"]["name"]
    )
    assert created["parameters"]["job_id"] == "job_abc"
    work = next(a for a in manifest["assertions"] if a["label"] == "stds.schema-org.CreativeWork")["data"]
    assert work["author"][0]["name"] == "@alice"
    assert manifest["signature_info"]["alg"].upper() == "ES256"
    # Signature and hashes check out; the development root is on no trust list.
    assert manifest["validation_state"] == "Valid"
    assert [f["code"] for f in manifest["validation_failures"]] == ["signingCredential.untrusted"]
    # With our root as trust anchor the chain is trusted and nothing fails.
    trusted = provenance.read_manifest(signed, trust_anchors_pem=provenance.root_certificate_pem(chain))
    assert trusted["validation_state"] == "Trusted" and trusted["validation_failures"] == []


def test_signed_video_still_plays(signing_settings, mp4):
    from generation.media import decode_mp4, probe_mp4

    signed = _sign(mp4)
    assert probe_mp4(signed) == probe_mp4(mp4)
    assert np.array_equal(decode_mp4(signed), decode_mp4(mp4))


def test_tampering_after_signing_is_reported(signing_settings, mp4):
    chain, _ = signing_settings
    signed = bytearray(_sign(mp4))
    # Flip bytes inside the media data (the last box of a faststart MP4 is mdat).
    middle = len(signed) - 200
    signed[middle] ^= 0xFF
    manifest = provenance.read_manifest(bytes(signed), trust_anchors_pem=provenance.root_certificate_pem(chain))
    assert manifest["validation_state"] == "Invalid"
    assert "assertion.bmffHash.mismatch" in [f["code"] for f in manifest["validation_failures"]]


def test_missing_signing_material_is_a_clear_error(settings, tmp_path, mp4):
    settings.C2PA_CERT_CHAIN_PATH = tmp_path / "nope" / "chain.pem"
    settings.C2PA_PRIVATE_KEY_PATH = tmp_path / "nope" / "signer-key.pem"
    with pytest.raises(provenance.ProvenanceError) as caught:
        _sign(mp4)
    assert caught.value.code == "signing_certificate_missing"
    assert "make_dev_certificate" in caught.value.message


def _self_signed(tmp_path):
    import datetime as dt

    from cryptography.hazmat.primitives import hashes, serialization

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "self-signed signer"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "test"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    chain = tmp_path / "self.pem"
    chain.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path = tmp_path / "self-key.pem"
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return chain, key_path


def test_a_self_signed_certificate_is_refused(settings, tmp_path, mp4):
    # The reason the development certificate is a root CA plus a leaf it signs.
    settings.C2PA_CERT_CHAIN_PATH, settings.C2PA_PRIVATE_KEY_PATH = _self_signed(tmp_path)
    settings.C2PA_TSA_URL = ""
    with pytest.raises(provenance.ProvenanceError) as caught:
        _sign(mp4)
    assert caught.value.code == "c2pa_signing_failed"


def test_non_mp4_bytes_are_unreadable():
    with pytest.raises(provenance.ProvenanceError) as caught:
        provenance.read_manifest(b"definitely not a video" * 10)
    assert caught.value.code == "unreadable_asset"
