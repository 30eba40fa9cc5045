"""Newsroom publishing: C2PA Content Credentials on every published file, checked signing material, honest
alt text, reported rewrites, faithful A1111 parameters, no hidden watermark, reproduction from a file alone."""

import datetime
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import sd_parsers  # test extra: an independent reader of A1111 parameters
from PIL import Image, features

c2pa = pytest.importorskip("c2pa", reason="the c2pa extra is not installed (pip install 'hero-pipeline[c2pa]')")

TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
EXIFTOOL = shutil.which("exiftool")
FORMATS = "png,webp,jpeg" + (",avif" if features.check("avif") else "")


# -- a throw-away CA and signers (EC P-256), made with `cryptography` ---------------------------------------


def _certificates(folder: Path) -> dict[str, Path]:
    """PEM files: a good chain and key, an expired leaf, a self-signed leaf and a key of another signer."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    day = datetime.timedelta(days=1)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Throw-away Test CA"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Tests")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - 2 * day).not_valid_after(now + 365 * day)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    def leaf(key, *, issuer_key, issuer_name, before, after):
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Example News signer"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example News")])
        return (
            x509.CertificateBuilder().subject_name(name).issuer_name(issuer_name or name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(before).not_valid_after(after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(issuer_key, hashes.SHA256())
        )

    def pem(*certs):
        return b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in certs)

    def key_pem(key):
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())

    key, other = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    files = {
        "chain": pem(leaf(key, issuer_key=ca_key, issuer_name=ca_name, before=now - day, after=now + 30 * day), ca),
        "key": key_pem(key),
        "expired": pem(leaf(key, issuer_key=ca_key, issuer_name=ca_name, before=now - 30 * day, after=now - day), ca),
        "self-signed": pem(leaf(key, issuer_key=key, issuer_name=None, before=now - day, after=now + 30 * day)),
        "other-key": key_pem(other),
    }
    paths = {}
    for name, data in files.items():
        paths[name] = folder / f"{name}.pem"
        paths[name].write_bytes(data)
    return paths


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return _certificates(tmp_path_factory.mktemp("certs"))


def _manifest(path: Path) -> tuple[str, dict, dict]:
    """(validation state, the active manifest, the whole store) of a file, read back with c2pa.Reader."""
    with c2pa.Reader(str(path)) as reader:
        store = json.loads(reader.json())
        return reader.get_validation_state(), store["manifests"][store["active_manifest"]], store


def _actions(manifest: dict) -> list[dict]:
    return [a for assertion in manifest["assertions"] if assertion["label"].startswith("c2pa.actions") for a in assertion["data"]["actions"]]


@pytest.fixture(scope="module")
def signed(tmp_path_factory, certs):
    """One signed image from an article (rewritten by the guidelines), with a rendition in every format."""
    from click.testing import CliRunner

    from pipeline.cli import main

    work = tmp_path_factory.mktemp("signed")
    article = work / "article.txt"
    article.write_text("Soldiers and tanks at the border. Please ensure it is respectful.\n$$$\nTalks resume\nBody.\n")
    out = work / "out"
    result = CliRunner().invoke(
        main,
        ["generate", str(article), "--model", "tiny", "--steps", "2", "--seed", "5", "--out", str(out),
         "--renditions", "card=96x48", "--formats", FORMATS, "--disclosure", "AI-generated illustration",
         "--c2pa-cert", str(certs["chain"]), "--c2pa-key", str(certs["key"]), "--json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    entry = json.loads(result.stdout)["images"][0]
    files = [Path(entry["path"])] + [Path(r["path"]) for r in entry["renditions"]]
    record = json.loads(Path(entry["record"]).read_text())
    return {"out": out, "entry": entry, "files": files, "record": record, "stderr": result.stderr, "work": work}


def test_every_published_file_carries_a_valid_manifest_beside_its_xmp_and_parameters(signed):
    record = signed["record"]
    labels = record["content_credentials"]["manifests"]
    master = signed["files"][0]
    state, manifest, _ = _manifest(master)
    assert state == "Valid"  # signature and hashes good; the throw-away CA is simply not on a trust list
    [created] = _actions(manifest)
    assert created["action"] == "c2pa.created" and created["digitalSourceType"] == TRAINED
    assert created["softwareAgent"]["name"] == "hero-pipeline"
    assert created["parameters"]["model"] == "tiny"
    assert manifest["title"] == "Talks resume"
    assert labels[".png"] == manifest["label"]
    assert len(signed["files"]) == 1 + len(FORMATS.split(","))
    for path in signed["files"][1:]:
        state, manifest, store = _manifest(path)
        assert state == "Valid", path.name
        assert [a["action"] for a in _actions(manifest)] == ["c2pa.opened", "c2pa.resized", "c2pa.edited"], path.name
        [ingredient] = manifest["ingredients"]
        assert ingredient["relationship"] == "parentOf" and ingredient["active_manifest"] == labels[".png"]
        parent = store["manifests"][ingredient["active_manifest"]]
        assert _actions(parent)[0]["digitalSourceType"] == TRAINED
        assert labels["." + path.name.split(".", 1)[1]] == manifest["label"]
    for path in signed["files"]:  # metadata written before signing stays readable beside the manifest
        with Image.open(path) as image:
            xmp = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")
            assert TRAINED in (xmp.decode() if isinstance(xmp, bytes) else xmp), path.name
        if path.suffix != ".avif":
            info = sd_parsers.ParserManager().parse(path)
            assert info.samplers[0].parameters["seed"] == "5", path.name


def test_a_flipped_byte_in_a_jpeg_s_image_data_is_detected(signed, tmp_path):
    jpeg = next(path for path in signed["files"] if path.suffix == ".jpg")
    data = bytearray(jpeg.read_bytes())
    start = data.rindex(b"\xff\xda")  # start of scan: the entropy-coded image data follows
    position = start + (len(data) - start) // 2
    data[position] ^= 0x01
    tampered = tmp_path / "tampered.jpg"
    tampered.write_bytes(bytes(data))
    state, _, _ = _manifest(tampered)
    assert state == "Invalid"
    with c2pa.Reader(str(tampered)) as reader:
        failures = reader.get_validation_results()["activeManifest"]["failure"]
    assert any(failure["code"] == "assertion.dataHash.mismatch" for failure in failures)


def test_show_and_the_catalogue_name_each_file_s_manifest(signed, cli):
    labels = signed["record"]["content_credentials"]["manifests"]
    shown = json.loads(cli("show", "1", "--out", signed["out"], "--json").stdout)
    assert shown["content_credentials"]["signed"] is True
    assert shown["content_credentials"]["signer"] == "Example News signer"
    assert shown["content_credentials"]["manifest"] == labels[".png"]
    assert sorted(r["c2pa_manifest"] for r in shown["renditions"]) == sorted(v for k, v in labels.items() if k != ".png")
    text = cli("show", "1", "--out", signed["out"]).stdout
    assert f"content credentials: signed by Example News signer (issuer Throw-away Test CA), manifest {labels['.png']}" in text
    assert text.count("[signed, manifest urn:c2pa:") == len(signed["entry"]["renditions"])
    assert cli("doctor", "--out", signed["out"]).exit_code == 0  # the catalogue's hashes are those of the signed files


def test_rewrites_are_reported_and_alt_text_describes_the_image_made(signed):
    assert "guideline troops rewrote 'Soldiers' as 'Chess pawns'" in signed["stderr"]
    assert "guideline military-hardware rewrote 'tanks' as 'chess rooks'" in signed["stderr"]
    assert signed["entry"]["rewrites"] == [
        {"rule": "troops", "from": "Soldiers", "to": "Chess pawns"},
        {"rule": "military-hardware", "from": "tanks", "to": "chess rooks"},
    ]
    publishing = signed["record"]["publishing"]
    assert publishing["alt_text"] == "Chess pawns and chess rooks at the border."
    assert publishing["alt_text_source"] == "prompt after the guidelines"


def test_alt_text_of_the_example_article_drops_framing_and_instructions():
    from dataclasses import asdict

    from pipeline import guidelines
    from pipeline.publish.alt_text import MAX_LENGTH, describe

    prompt = (Path(__file__).parents[1] / "prompts/korea-chessboard.txt").read_text().split("\n$$$")[0]
    judgement = guidelines.judge(prompt)
    text = describe(prompt, [asdict(rule) for rule in judgement.rules])
    assert text == "An intricate geopolitical chessboard, with tokens symbolising the countries South Korea, North Korea, and Russia."
    assert len(text) <= MAX_LENGTH
    long = describe("A " + "very " * 40 + "long corridor, lit by lamps.", [])
    assert len(long) <= MAX_LENGTH and long.endswith("…")


@pytest.mark.skipif(EXIFTOOL is None, reason="exiftool is not installed (Debian: apt-get install libimage-exiftool-perl)")
def test_exiftool_reads_iptc_ai_fields_and_alt_text_after_signing(signed):
    for path in signed["files"]:
        out = subprocess.run([EXIFTOOL, "-json", "-G1", str(path)], capture_output=True, check=True, text=True)
        tags = json.loads(out.stdout)[0]
        assert tags["XMP-iptcExt:DigitalSourceType"] == TRAINED, path.name
        assert tags["XMP-iptcExt:AISystemUsed"].startswith("tiny (StableDiffusionPipeline) with hero-pipeline"), path.name
        assert tags["XMP-iptcExt:AISystemVersionUsed"] == signed["record"]["model"]["revision"], path.name
        assert tags["XMP-iptcExt:AIPromptInformation"].startswith("Chess pawns and chess rooks at the border"), path.name
        assert tags["XMP-dc:Description"] == "Chess pawns and chess rooks at the border.", path.name


def test_a_master_png_copied_into_an_empty_folder_reproduces(signed, tmp_path, cli):
    lone = tmp_path / "received" / signed["files"][0].name
    lone.parent.mkdir()
    shutil.copy(signed["files"][0], lone)
    result = cli("reproduce", lone, "--out", tmp_path / "no-catalogue", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["identical"] is True
    assert sorted(p.name for p in lone.parent.iterdir()) == [lone.name]
    assert not (tmp_path / "no-catalogue").exists()
    stranger = tmp_path / "stranger.png"
    Image.new("RGB", (8, 8)).save(stranger)
    refused = cli("reproduce", stranger, "--out", tmp_path / "no-catalogue")
    assert refused.exit_code == 2 and "carries no generation record" in refused.stderr


# -- bad signing material: one line, exit 2, nothing generated ------------------------------------------------


@pytest.mark.parametrize(
    "cert, key, message",
    [
        ("expired", "key", "expired on"),
        ("self-signed", "key", "is self-signed"),
        ("chain", "other-key", "does not belong to the certificate"),
        ("missing", "key", "does not exist"),
        ("chain", None, "--c2pa-key (or $PIPELINE_C2PA_KEY) is missing"),
        ("key", "key", "holds no PEM certificate"),
    ],
)
def test_bad_signing_material_fails_before_anything_is_generated(cli, certs, tmp_path, cert, key, message):
    args = ["--c2pa-cert", certs.get(cert, tmp_path / "missing.pem")]
    if key:
        args += ["--c2pa-key", certs[key]]
    result = cli("generate", "--prompt", "A kite", "--model", "tiny", "--out", tmp_path / "out", *args)
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "loading model" not in result.stderr and not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "tsa, message",
    [("ftp:/x", "--c2pa-tsa has to be an http(s) URL"), ("http://127.0.0.1:9/tsa", "time-stamp authority: C2PA signing failed")],
)
def test_a_bad_or_unreachable_time_stamp_authority_fails_before_generating(cli, certs, tmp_path, tsa, message):
    result = cli("generate", "--prompt", "A kite", "--model", "tiny", "--out", tmp_path / "out",
                 "--c2pa-cert", certs["chain"], "--c2pa-key", certs["key"], "--c2pa-tsa", tsa)
    assert result.exit_code == 2 and message in result.stderr, result.stderr
    assert not (tmp_path / "out").exists()


def test_signing_without_the_library_says_how_to_install_it(cli, certs, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "c2pa", None)  # import c2pa now raises ImportError
    for name in ("chain", "key"):
        shutil.copy(certs[name], tmp_path / f"{name}.pem")  # new paths: no signer cached for them
    result = cli("generate", "--prompt", "A kite", "--model", "tiny", "--out", tmp_path / "out",
                 env={"PIPELINE_C2PA_CERT": str(tmp_path / "chain.pem"), "PIPELINE_C2PA_KEY": str(tmp_path / "key.pem")})
    assert result.exit_code == 2
    assert "needs the c2pa-python package: pip install 'hero-pipeline[c2pa]'" in result.stderr
    assert not (tmp_path / "out").exists()


# -- batch publishes like generate ----------------------------------------------------------------------------


def test_batch_publishes_signed_renditions_from_spec_keys_and_links_them(certs, tmp_path):
    from click.testing import CliRunner

    from pipeline.cli import main

    shutil.copy(certs["chain"], tmp_path / "chain.pem")
    shutil.copy(certs["key"], tmp_path / "key.pem")
    spec = tmp_path / "news.toml"
    spec.write_text(
        '[defaults]\nmodel = "tiny"\nsteps = 2\nseeds = [1]\nrenditions = ["card=96x48"]\nformats = "jpeg"\n'
        'c2pa-cert = "chain.pem"\nc2pa-key = "key.pem"\ncredit = "Example News / AI-generated"\n'
        '[[jobs]]\nprompt = "Soldiers at the gate"\nformats = ["webp", "png"]\nquality = 70\nsharpen = false\n'
        'alt-text = "Chess pawns at a gate"\n'
    )
    result = CliRunner().invoke(main, ["batch", str(spec), "--out", str(tmp_path / "out"), "--json", "--quiet"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    [image] = json.loads(result.stdout)["images"]
    record = json.loads(Path(image["record"]).read_text())
    assert record["publishing"]["formats"] == ["webp", "png"] and record["publishing"]["quality"] == 70
    assert record["publishing"]["credit"] == "Example News / AI-generated" and record["publishing"]["sharpen"] is False
    assert record["publishing"]["alt_text"] == "Chess pawns at a gate"
    files = [Path(image["path"])] + [tmp_path / "out" / r["file"] for r in image["renditions"]]
    assert [p.suffix for p in files] == [".png", ".webp", ".png"]
    for path in files:
        state, manifest, _ = _manifest(path)
        assert state == "Valid" and manifest["label"] in record["content_credentials"]["manifests"].values()
    gallery = (tmp_path / "out" / "index.html").read_text()
    for rendition in image["renditions"]:
        assert f'href="{rendition["file"]}"' in gallery
    assert 'alt="Chess pawns at a gate"' in gallery


def test_batch_spec_publishing_keys_are_checked_with_their_place(cli, certs, tmp_path):
    spec = tmp_path / "bad.toml"
    spec.write_text(
        f'[defaults]\nmodel = "tiny"\nseeds = [1]\nformats = "gif"\nquality = 300\nsharpen = "yes"\n'
        f'[[jobs]]\nprompt = "A kite"\nrenditions = "hero,huge"\nc2pa-cert = "{certs["expired"]}"\nc2pa-key = "{certs["key"]}"\n'
        f'[[jobs]]\nprompt = "A boat"\nc2pa-key = "{certs["key"]}"\n'
    )
    result = cli("batch", spec, "--out", tmp_path / "out")
    assert result.exit_code == 2
    for line in (
        "[defaults], key `formats`: unknown format 'gif'",
        "[defaults], key `quality`: `quality` has to be between 1 and 100 but is 300",
        "[defaults], key `sharpen`: has to be true or false",
        "job 1, key `renditions`: unknown rendition 'huge'",
        "job 1, key `c2pa-cert`: the signing certificate in",
        "job 2, key `c2pa-key`: signing needs both a certificate chain and its private key",
    ):
        assert line in result.stderr, result.stderr
    assert not (tmp_path / "out" / "catalogue.sqlite").exists()


# -- A1111 parameters, watermark, unsigned runs ---------------------------------------------------------------

A1111_NAMES = {
    "ddim": ("DDIM", "Automatic"),
    "pndm": ("PLMS", "Automatic"),
    "euler": ("Euler", "Automatic"),
    "euler-a": ("Euler a", "Automatic"),
    "dpm++": ("DPM++ 2M", "Automatic"),
    "dpm++-karras": ("DPM++ 2M", "Karras"),
    "unipc": ("UniPC", "Automatic"),
    "lms": ("LMS", "Automatic"),
}


def test_a1111_sampler_and_schedule_type_read_back_for_every_scheduler(cli, tmp_path):
    from pipeline.cli.generate import SCHEDULER_NAMES

    assert sorted(A1111_NAMES) == sorted(SCHEDULER_NAMES)
    for scheduler in SCHEDULER_NAMES:
        result = cli("generate", "--prompt", "A kite", "--model", "tiny", "--steps", "1", "--seed", "1",
                     "--scheduler", scheduler, "--out", tmp_path, "--json", "--quiet")
        assert result.exit_code == 0, result.stderr
        path = Path(json.loads(result.stdout)["images"][0]["path"])
        [sampler] = sd_parsers.ParserManager().parse(path).samplers
        assert (sampler.name, sampler.parameters["scheduler"]) == A1111_NAMES[scheduler], scheduler
        assert sampler.model.hash is None  # the built-in model has no checkpoint file, so no Model hash


def test_no_hidden_watermark_and_unsigned_runs_say_so(cli, tmp_path, monkeypatch):
    import diffusers.pipelines.stable_diffusion_xl.pipeline_stable_diffusion_xl as sdxl

    # With the package "installed", diffusers would watermark by default; the explicit add_watermarker=False wins.
    monkeypatch.setattr(sdxl, "is_invisible_watermark_available", lambda: True)
    result = cli("generate", "--prompt", "A kite", "--model", "tiny-sdxl", "--steps", "1", "--seed", "1",
                 "--out", tmp_path / "out", "--json", "--quiet")
    assert result.exit_code == 0, result.stderr
    record = json.loads(Path(json.loads(result.stdout)["images"][0]["record"]).read_text())
    assert record["watermark"] == {"invisible": False, "asked": False}
    assert record["content_credentials"] == {"signed": False, "reason": "no signing certificate given (--c2pa-cert and --c2pa-key)"}
    assert "content credentials: not signed (no signing certificate given" in cli("show", "1", "--out", tmp_path / "out").stdout
    refused = cli("generate", "--prompt", "A kite", "--model", "tiny", "--watermark", "--out", tmp_path / "sd")
    assert refused.exit_code == 2 and "--watermark applies to SDXL pipelines only" in refused.stderr


def test_a_signing_failure_leaves_no_file_of_that_image(cli, certs, tmp_path, monkeypatch):
    from pipeline.publish import credentials
    from pipeline.errors import PipelineError

    real = credentials.Signer.sign

    def failing(self, data, fmt, manifest, ingredient=None):
        if fmt == "jpeg":
            raise PipelineError("C2PA signing failed (jpeg): simulated")
        return real(self, data, fmt, manifest, ingredient)

    monkeypatch.setattr(credentials.Signer, "sign", failing)
    out = tmp_path / "out"
    result = cli("generate", "--prompt", "A kite", "--model", "tiny", "--steps", "1", "--out", out,
                 "--renditions", "card=96x48", "--formats", "png,jpeg", "--c2pa-cert", certs["chain"], "--c2pa-key", certs["key"])
    assert result.exit_code == 1 and "Error: C2PA signing failed (jpeg): simulated" in result.stderr
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith("catalogue.sqlite")) == []
