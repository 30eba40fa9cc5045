"""C2PA Content Credentials: check a newsroom's signing certificate and sign published files in memory."""

from __future__ import annotations

import functools
import io
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlparse

from pipeline.errors import InputError, PipelineError, summary
from pipeline.inputs import read_input
from pipeline.publish.metadata import DIGITAL_SOURCE_TYPE
from pipeline.output.files import bytes_sha256

INSTALL_HINT = "pip install 'hero-pipeline[c2pa]'"
MIME_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp", "avif": "image/avif"}
CERT_ENV = "PIPELINE_C2PA_CERT"
KEY_ENV = "PIPELINE_C2PA_KEY"
MASTER_LABEL = "master"
UNSIGNED = {"signed": False, "reason": "no signing certificate given (--c2pa-cert and --c2pa-key)"}
# The embedded manifest carries no thumbnail: the published file is its own picture.
_SETTINGS = {"builder": {"thumbnail": {"enabled": False}}}


@dataclass(frozen=True)
class SigningOptions:
    """Where the signing certificate chain (PEM, leaf first) and its PKCS#8 private key are; optional TSA."""

    cert: str
    key: str
    tsa: str | None = None


@dataclass(frozen=True)
class SignerFacts:
    """What a record says about the signer; never the key or a local path."""

    subject: str
    issuer: str
    certificate_sha256: str
    algorithm: str
    not_after: str
    tsa: str | None

    def to_dict(self) -> dict:
        return {"signed": True, "signer": self.subject, "issuer": self.issuer,
                "certificate_sha256": self.certificate_sha256, "algorithm": self.algorithm,
                "not_after": self.not_after, "tsa": self.tsa}


def signing_options(cert: str | None, key: str | None, tsa: str | None = None) -> SigningOptions | None:
    """SigningOptions from option values; both or neither of cert and key; InputError names what is missing."""
    if cert is None and key is None:
        if tsa:
            raise InputError("--c2pa-tsa needs --c2pa-cert and --c2pa-key")
        return None
    if cert is None or key is None:
        missing = "--c2pa-cert (or $PIPELINE_C2PA_CERT)" if cert is None else "--c2pa-key (or $PIPELINE_C2PA_KEY)"
        raise InputError(f"signing needs both a certificate chain and its private key; {missing} is missing")
    if tsa is not None:
        parsed = urlparse(tsa)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise InputError(f"--c2pa-tsa has to be an http(s) URL of an RFC 3161 time-stamp authority, not {tsa!r}")
    return SigningOptions(str(cert), str(key), tsa)


def _c2pa():
    try:
        import c2pa
    except ImportError:
        raise InputError(f"signing Content Credentials needs the c2pa-python package: {INSTALL_HINT}") from None
    return c2pa


def _name(name) -> str:
    from cryptography.x509.oid import NameOID

    for oid in (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME):
        values = name.get_attributes_for_oid(oid)
        if values:
            return str(values[0].value)
    return name.rfc4514_string()


def _algorithm(key) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(key, ec.EllipticCurvePrivateKey):
        names = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}
        if key.curve.name not in names:
            raise InputError(f"the private key uses curve {key.curve.name}; C2PA signs with P-256, P-384 or P-521")
        return names[key.curve.name]
    if isinstance(key, rsa.RSAPrivateKey):
        return "ps256"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    raise InputError(f"the private key is a {type(key).__name__}; C2PA signs with EC (P-256/384/521), RSA-PSS or Ed25519")


def _load(options: SigningOptions):
    """(certificate chain PEM, key PEM, leaf, algorithm), checked; InputError names the first problem."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    chain_pem = read_input(Path(options.cert), "certificate file")
    key_pem = read_input(Path(options.key), "private key file")
    try:
        chain = x509.load_pem_x509_certificates(chain_pem)
    except ValueError:
        raise InputError(f"certificate file {options.cert} holds no PEM certificate") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise InputError(f"private key file {options.key} is not an unencrypted PEM private key ({exc})") from None
    leaf = chain[0]
    now = datetime.now(timezone.utc)
    if leaf.not_valid_after_utc < now:
        raise InputError(f"the signing certificate in {options.cert} expired on {leaf.not_valid_after_utc:%Y-%m-%d}")
    if leaf.not_valid_before_utc > now:
        raise InputError(f"the signing certificate in {options.cert} is not valid before {leaf.not_valid_before_utc:%Y-%m-%d}")
    if leaf.issuer == leaf.subject:
        raise InputError(
            f"the signing certificate in {options.cert} is self-signed; C2PA needs a certificate issued by a CA "
            "(give the chain, leaf first)"
        )
    if key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) != leaf.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo):
        raise InputError(f"the private key in {options.key} does not belong to the certificate in {options.cert}")
    try:
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is not None and not usage.digital_signature:
        raise InputError(f"the signing certificate in {options.cert} does not allow digitalSignature (key usage)")
    return chain_pem, key_pem, leaf, _algorithm(key)


class Signer:
    """A checked signer: signs the bytes of a published file and reads the result back."""

    def __init__(self, options: SigningOptions):
        self.c2pa = _c2pa()  # first: without the library nothing else here can work
        from cryptography.hazmat.primitives import hashes

        chain_pem, key_pem, leaf, algorithm = _load(options)
        self.facts = SignerFacts(
            subject=_name(leaf.subject),
            issuer=_name(leaf.issuer),
            certificate_sha256=leaf.fingerprint(hashes.SHA256()).hex(),
            algorithm=algorithm,
            not_after=leaf.not_valid_after_utc.isoformat(timespec="seconds"),
            tsa=options.tsa,
        )
        info = self.c2pa.C2paSignerInfo(
            algorithm.encode(), chain_pem, key_pem, options.tsa.encode() if options.tsa else None
        )
        try:
            self._signer = self.c2pa.Signer.from_info(info)
            self.context = self.c2pa.Context(self.c2pa.Settings.from_dict(_SETTINGS))
        except self.c2pa.C2paError as exc:
            raise InputError(f"the C2PA library refused the certificate or key: {summary(exc, 200)}") from None
        self._probe(options)

    def _probe(self, options: SigningOptions) -> None:
        """Sign a tiny image, so a certificate the C2PA library refuses fails before anything is generated."""
        from PIL import Image

        buffer = io.BytesIO()
        Image.new("RGB", (8, 8)).save(buffer, format="PNG")
        try:
            self.sign(buffer.getvalue(), "png", created_manifest(title="probe", model="probe"))
        except PipelineError as exc:
            what = "certificate, key and time-stamp authority" if options.tsa else "certificate and key"
            raise InputError(f"cannot sign with this {what}: {exc}") from None

    def sign(self, data: bytes, fmt: str, manifest: dict, ingredient: tuple[bytes, str, str] | None = None) -> tuple[bytes, str]:
        """(`data` with a signed C2PA manifest embedded, the manifest's label); `ingredient` is (bytes, format, title)."""
        c2pa = self.c2pa
        mime = MIME_TYPES[fmt]
        try:
            with c2pa.Builder(manifest, self.context) as builder:
                if ingredient is not None:
                    parent, parent_fmt, title = ingredient
                    builder.add_ingredient(
                        {"title": title, "relationship": "parentOf", "label": MASTER_LABEL},
                        MIME_TYPES[parent_fmt],
                        io.BytesIO(parent),
                    )
                out = io.BytesIO()
                builder.sign(self._signer, mime, io.BytesIO(data), out)
            signed = out.getvalue()
            with c2pa.Reader(mime, io.BytesIO(signed), context=self.context) as reader:
                label = json.loads(reader.json())["active_manifest"]
        except c2pa.C2paError as exc:
            raise PipelineError(f"C2PA signing failed ({fmt}): {summary(exc, 200)}") from None
        return signed, label


@functools.lru_cache(maxsize=8)
def _cached_signer(options: SigningOptions, stamp: tuple) -> Signer:
    return Signer(options)


def load_signer(options: SigningOptions) -> Signer:
    """The checked Signer for these files, built once per process while the files are unchanged."""
    stamp = tuple(_stat(path) for path in (options.cert, options.key))
    return _cached_signer(options, stamp)


def _stat(path: str) -> tuple:
    try:
        info = os.stat(path)
    except OSError:
        return (path, None)
    return (path, info.st_size, info.st_mtime_ns)


def _generator() -> dict:
    from pipeline import __version__

    return {"name": "hero-pipeline", "version": __version__}


def created_manifest(*, title: str | None, model: str, revision: str | None = None) -> dict:
    """The manifest of a master image: created by a trained model (IPTC trainedAlgorithmicMedia)."""
    agent = _generator()
    parameters = {"model": model}
    if revision:
        parameters["model_revision"] = revision
    return {
        "claim_generator_info": [agent],
        "title": title or "AI-generated illustration",
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": DIGITAL_SOURCE_TYPE,
                            "softwareAgent": agent,
                            "parameters": parameters,
                        }
                    ]
                },
            }
        ],
    }


def rendition_manifest(*, title: str | None, rendition: dict) -> dict:
    """The manifest of a rendition: the master opened, cropped and resized (and captioned: edited)."""
    agent = _generator()
    size = f"{rendition['width']}x{rendition['height']}"
    actions = [
        {"action": "c2pa.opened", "softwareAgent": agent, "parameters": {"ingredientIds": [MASTER_LABEL]}},
        {"action": "c2pa.resized", "softwareAgent": agent, "parameters": {"rendition": rendition["name"], "size": size}},
    ]
    if rendition.get("disclosure"):
        actions.append(
            {"action": "c2pa.edited", "softwareAgent": agent, "parameters": {"description": "disclosure caption strip"}}
        )
    return {
        "claim_generator_info": [agent],
        "title": f"{title or 'AI-generated illustration'} ({rendition['name']} {size})",
        "assertions": [{"label": "c2pa.actions", "data": {"actions": actions}}],
    }


def sign_published(signer: Signer, record: dict, png: bytes, files: dict[str, bytes], rendered: list[dict]) -> bytes:
    """Sign the master PNG and every rendition (the signed master as their ingredient), in memory.

    Signing is the last change to each file's bytes: `files` and `rendered` (sha256, manifest label)
    are updated in place, the signed master is returned, and `record["content_credentials"]["manifests"]`
    maps each file suffix to its manifest label. Nothing is written here, so a failure leaves no file.
    """
    title = record.get("title")
    model = record["model"]
    png, label = signer.sign(png, "png", created_manifest(title=title, model=model["location"], revision=model["revision"]))
    manifests = {".png": label}
    for item in rendered:
        data, label = signer.sign(
            files[item["suffix"]], item["format"], rendition_manifest(title=title, rendition=item), ingredient=(png, "png", title or "master")
        )
        files[item["suffix"]] = data
        item["sha256"] = bytes_sha256(data)
        item["c2pa_manifest"] = manifests[item["suffix"]] = label
    record["content_credentials"]["manifests"] = manifests
    return png
