"""openapi.yaml, the README's API table, docs/ and the gateway bodies agree with the code tables.

The tables in the code (parameters, errors, DRM profiles) are the machine-readable truth;
every copy a person reads is checked against them here, so a drift fails `make test`.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import jsonschema
import pytest
import yaml

from drmtoken.apigw.responses import error_response
from drmtoken.core.drm import PROFILES, Drm
from drmtoken.core.errors import ERRORS
from drmtoken.core.params import Param
from drmtoken.issue.params import ROUTE_PARAMETERS
from tests.support.lambdas import ROOT, TEMPLATE

OPENAPI: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text())
README = (ROOT / "README.md").read_text()
TOKEN_DOC = (ROOT / "docs" / "token-api.md").read_text()
ROUTES = {drm: f"/hms/{drm.value}/token" for drm in Drm}
KEY_SOURCE = {"contentKey", "kek", "ek"}  # a key source as a group, not one by one (the key source rule)


def resolve(node: Any) -> Any:
    """``node`` with every local $ref replaced by what it points at."""
    if isinstance(node, dict):
        if "$ref" in node:
            target: Any = OPENAPI
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            return resolve(target)
        return {key: resolve(value) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(item) for item in node]
    return node


def query_parameters(drm: Drm) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in resolve(OPENAPI["paths"][ROUTES[drm]]["get"]["parameters"])}


def form_schema(drm: Drm) -> dict[str, Any]:
    body = resolve(OPENAPI["paths"][ROUTES[drm]]["post"]["requestBody"])
    schema: dict[str, Any] = body["content"]["application/x-www-form-urlencoded"]["schema"]
    return schema


def table(drm: Drm) -> dict[str, Param]:
    return {row.name: row for row in ROUTE_PARAMETERS[drm]}


# --- openapi.yaml ----------------------------------------------------------------------


def test_openapi_error_codes_are_the_error_table() -> None:
    error_json = resolve(OPENAPI["components"]["schemas"]["ErrorJson"])
    assert sorted(error_json["properties"]["errorCode"]["enum"]) == sorted(ERRORS)


@pytest.mark.parametrize("drm", list(Drm))
def test_openapi_parameters_are_the_parameter_table(drm: Drm) -> None:
    rows, query, form = table(drm), query_parameters(drm), form_schema(drm)
    assert set(query) - {"errorFormat"} == set(rows) == set(form["properties"]) - {"errorFormat"}
    for name, row in rows.items():
        required = row.missing is not None
        assert query[name].get("required", False) is required, name
        assert (name in form.get("required", [])) is required, name
        described = {int(code) for code in re.findall(r"-\d{4}", query[name]["description"])}
        assert set(row.codes) <= described, f"{name}: the description misses {set(row.codes) - described}"


# Values a parser accepts and values it refuses: each openapi schema must say the same.
EXAMPLES: dict[str, tuple[list[str], list[str]]] = {
    "customerAuthenticator": (
        ["acme,0123456789abcdef0123456789abcdef", "A_b-9,ABCDEF0123456789abcdef0123456789"],
        ["acme", "acme,0123", "a b,0123456789abcdef0123456789abcdef", "x" * 33 + ",0123456789abcdef0123456789abcdef"],
    ),
    "kid": (
        ["80ea8bc8a58f990ad1f76bc665b30bfa", "^kid1", "^a b", "^" + "x" * 64, "^café"],
        ["80ea", "^", "^" + "x" * 65, "zz" * 16],
    ),
    "contentKey": (["00112233445566778899aabbccddeeff", "ABCDEF0123456789ABCDEF0123456789"], ["00", "zz" * 16]),
    "iv": (["0f0e0d0c0b0a09080706050403020100"], ["0f0e", "0f0e0d0c0b0a0908070605040302010"]),
    "kek": (["00" * 16, "00" * 24, "00" * 32], ["00" * 20, "zz" * 16]),
    "ek": (["00" * 24], ["00" * 16, "zz" * 24]),
    "generalFlags": (["0000", "00000000"], ["0001", "000"]),
    "expirationTime": (
        ["+1", "+86400", "2026-12-01T12:00:00Z", "2026-12-01T12:00:00.25Z"],
        ["+0", "+", "2026-12-01 12:00:00Z", "2026-12-01T12:00:00+01:00", "tomorrow"],
    ),
    "cookie": (["c1", " spaced out ", "~" * 32], ["x" * 33, "caf\u00e9", "tab\there"]),
    "contentId": (["movie-42", "\u6620\u753b"], ["x" * 257, "a\x00b", "line\nbreak"]),
    "rightsType": (["BuyToOwn", "Rental"], ["Streaming", "rental", "Buy", ""]),
    "rental.periodEndTime": (
        ["+1", "+31536000", "2027-06-01T00:00:00Z"],
        ["+0", "+", "2027-06-01T00:00:00+01:00", "next week"],
    ),
    "rental.playDuration": (["1", "86400", "31536000"], ["0", "31536001", "-1", "long"]),
    "renewalInterval": (["60", "3600"], ["59", "3601", "0", "often"]),
    "userId": (["viewer-7", "!", "~" * 64, "a@b.example"], ["", "a b", "x" * 65, "caf\u00e9", "tab\there"]),
    "maxStreams": (["1", "20", "03"], ["0", "21", "-1", "two"]),
    "streamPolicy": (["refuse-new", "end-oldest"], ["end-newest", "Refuse-New", "refuse"]),
    "securityLevel": (["1", "5"], ["0", "6", "high"]),
    "hdcpOutputControl": (["0", "2"], ["3", "-1", "v2"]),
    "licenseDuration": (["0", "2147483647"], ["-1", "2147483648", "soon"]),
    "rentalDuration": (["0", "86400"], ["-1", "2147483648"]),
    "wvExtension": (
        ["wudo,AAAAAA==", "abcd,AQID", "a b!," + base64.b64encode(bytes(1024)).decode()],
        ["toolong,AAAA", "abcd,!!!!", "abcd,", "abcd," + base64.b64encode(bytes(1025)).decode(), "a,bc,AQID"],
    ),
    "fpExtension": (["abcd,AQID"], ["abcd,AQI", "abc,AQID"]),
    "deviceId": ([], ["device-1"]),
    "maxUses": (["1", "1000", "0003"], ["0", "1001", "many", "-1"]),
    "trackPolicy": (
        ["UHD1,5,2", "AUDIO,1,0", "HD,03,1"],
        ["VIDEO,1,0", "HD,6,0", "HD,1,3", "HD,1", "HD,1,0,0", "hd,1,0"],
    ),
}


def accepted_by_parser(row: Param, value: str) -> bool:
    try:
        row.parse(value)
    except Exception:  # ValueError or ApiError: the row refuses it
        return False
    return True


def accepted_by_schema(schema: dict[str, Any], value: str) -> bool:
    if schema.get("type") == "array":
        schema = schema["items"]
    candidate: Any = value
    if schema.get("type") == "integer":
        try:
            candidate = int(value)
        except ValueError:
            return False
    return bool(jsonschema.Draft7Validator(schema).is_valid(candidate))


@pytest.mark.parametrize("drm", list(Drm))
def test_every_parameter_has_examples_and_openapi_agrees_with_the_parser_on_them(drm: Drm) -> None:
    query = query_parameters(drm)
    for name, row in table(drm).items():
        assert name in EXAMPLES, f"no examples for {name}"
        valid, invalid = EXAMPLES[name]
        for value in valid:
            assert accepted_by_parser(row, value), (name, value)
            assert accepted_by_schema(query[name]["schema"], value), (name, value)
        for value in invalid:
            assert not accepted_by_parser(row, value), (name, value)
            assert not accepted_by_schema(query[name]["schema"], value), (name, value)


# --- README and docs -------------------------------------------------------------------


@pytest.mark.parametrize("drm", list(Drm))
def test_the_readme_api_table_names_every_parameter_in_its_column(drm: Drm) -> None:
    (row,) = [line for line in README.splitlines() if line.startswith(f"| `GET/POST {ROUTES[drm]}`")]
    _, _, required, optional, refused, _ = (cell.strip() for cell in row.split("|"))
    named = {
        column: set(re.findall(r"`([\w.]+)`", text))
        for column, text in (("required", required), ("optional", optional), ("refused", refused))
    }
    for name, param in table(drm).items():
        if param.parse.__name__ == "reject":
            expected = "refused"
        elif name in KEY_SOURCE:
            expected = "required"  # "a key: contentKey, or kek+ek, or kek for a stored key"
        else:
            expected = "required" if param.missing is not None else "optional"
        assert name in named[expected], f"{name} belongs in the {expected} column"
    assert "errorFormat" in named["optional"]


@pytest.mark.parametrize("drm", list(Drm))
def test_docs_name_every_parameter_with_every_code(drm: Drm) -> None:
    for name, row in table(drm).items():
        lines = [line for line in TOKEN_DOC.splitlines() if line.startswith(f"| `{name}` |")]
        assert lines, f"docs/token-api.md has no row for {name}"
        documented = {int(code) for line in lines for code in re.findall(r"`(-\d{4})`", line)}
        assert set(row.codes) <= documented, f"{name}: docs miss {set(row.codes) - documented}"


def test_docs_name_every_error_code_and_every_drm() -> None:
    rights_doc = (ROOT / "docs" / "rights-api.md").read_text()
    documented = {int(code) for code in re.findall(r"`(-\d{4})`", TOKEN_DOC + rights_doc)}
    assert set(ERRORS) <= documented
    for profile in PROFILES.values():
        assert f"/hms/{profile.drm.value}/token" in TOKEN_DOC
        assert f"`{profile.not_entitled}`" in TOKEN_DOC and f"`{profile.switched_off}`" in TOKEN_DOC


# --- the gateway's fallback bodies ---------------------------------------------------------


@pytest.mark.parametrize(
    ("response_type", "code"), [("MISSING_AUTHENTICATION_TOKEN", -1000), ("THROTTLED", -2039), ("DEFAULT_5XX", -2030)]
)
def test_the_gateway_fallback_bodies_are_what_the_functions_render(response_type: str, code: int) -> None:
    status, templates = TEMPLATE.gateway_response(response_type)
    for error_format, content_type in (("json", "application/json"), ("html", "text/html")):
        rendered = error_response(code, error_format, "$context.requestId")
        assert status == rendered["statusCode"]
        if error_format == "json":
            assert json.loads(templates[content_type]) == json.loads(rendered["body"])
        else:
            assert templates[content_type] == rendered["body"]
