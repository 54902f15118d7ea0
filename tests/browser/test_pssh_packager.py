"""Shaka Packager reads the key provider's PSSH boxes: it packages a clip with them and refuses a damaged one.

The bytes of a PSSH box are written by hand (core/pssh.py); an independent reader proves them.
Shaka Packager parses every box given with --pssh (ProtectionSystemSpecificInfo) and refuses the
run when one does not parse; a parsed box is written into the init segment as it came.
"""

from __future__ import annotations

import base64
import subprocess
import uuid
from pathlib import Path
from xml.etree import ElementTree

import pytest

from drmtoken.core.cpix import answer_cpix, read_cpix
from drmtoken.core.heldkeys import HeldKey
from drmtoken.core.pssh import COMMON_SYSTEM, WIDEVINE_SYSTEM
from drmtoken_cli.devserver.media import packager_path
from tests.support.browser import require_browser_tools
from tests.support.cpix import new_kids, speke_v2

pytestmark = pytest.mark.browser


def package(clip: Path, out: Path, kid: str, key: bytes, pssh: bytes) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            packager_path(),
            f"in={clip},stream=video,output={out}",
            "--enable_raw_key_encryption",
            f"--keys=label=:key_id={kid}:key={key.hex()}",
            f"--pssh={pssh.hex()}",
            "--protection_scheme=cenc",
            "--clear_lead=0",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_shaka_packager_takes_the_answers_pssh_boxes_and_refuses_a_damaged_one(tmp_path: Path) -> None:
    require_browser_tools()
    clip = tmp_path / "clip.mp4"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=25"]
        + ["-t", "1", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(clip)],
        check=True,
        timeout=120,
    )
    kid = new_kids(1)[0]
    request = read_cpix(speke_v2("title-1", {kid: "VIDEO"}, (WIDEVINE_SYSTEM, COMMON_SYSTEM)), "2.0")
    held = HeldKey.new(uuid.UUID(kid).hex, "title-1", "VIDEO", None, 0)
    answer = ElementTree.fromstring(answer_cpix(request, {held.kid: held}))
    boxes = [base64.b64decode(e.text or "") for e in answer.iter("{urn:dashif:org:cpix}PSSH")]
    assert len(boxes) == 2
    result = package(clip, tmp_path / "out.mp4", held.kid, held.key, b"".join(boxes))
    assert result.returncode == 0, result.stderr[-500:]
    written = (tmp_path / "out.mp4").read_bytes()
    assert all(box in written for box in boxes)  # both systems' boxes, as given
    damaged = boxes[0][:3] + bytes([boxes[0][3] + 1]) + boxes[0][4:]  # one byte too long a size
    refused = package(clip, tmp_path / "bad.mp4", held.kid, held.key, damaged)
    assert refused.returncode != 0
