"""CPIX requests as AWS's packagers send them: the CLI's builders, which the demo's packager step uses too."""

from drmtoken_cli.speke_requests import ALL_SYSTEMS, PRESETS, new_kids, speke_v1, speke_v2

__all__ = ["ALL_SYSTEMS", "PRESETS", "new_kids", "speke_v1", "speke_v2"]
