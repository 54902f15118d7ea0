"""The dev server's template reader: every intrinsic the template uses resolves, anything else fails loudly."""

from __future__ import annotations

from pathlib import Path

import pytest

from drmtoken_cli.devserver.template import Template, TemplateError
from tests.support.lambdas import ROOT

MINIMAL = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Limit: {Type: Number, Default: 100}
  Prefix: {Type: String, Default: drm}
Conditions:
  HasLimit: !Not [!Equals [!Ref Limit, 0]]
  Both: !And [!Condition HasLimit, !Equals [!Ref Prefix, drm]]
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Join ["-", [!Ref Prefix, records]]
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {AttributeName: pk, AttributeType: S}
        - {AttributeName: cookie, AttributeType: S}
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      GlobalSecondaryIndexes:
        - IndexName: byCookie
          KeySchema: [{AttributeName: cookie, KeyType: HASH}]
          Projection: {ProjectionType: ALL}
      TimeToLiveSpecification: {AttributeName: expiresAt, Enabled: true}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/x/
      Handler: app.handler
      Environment:
        Variables:
          REGION_URL: !Sub "https://${AWS::Region}.example.com/${Prefix}"
          LIST_FORM: !Sub ["${A}-${B}", {A: !Ref Prefix, B: !If [Both, up, down]}]
          TABLE: !Ref Table
          SECRET: !Ref Secret
  Secret:
    Type: AWS::SecretsManager::Secret
"""


def template_from(tmp_path: Path, text: str, **parameters: str) -> Template:
    path = tmp_path / "template.yaml"
    path.write_text(text)
    return Template(path, parameters or None)


def test_conditions_with_not_and_and(tmp_path: Path) -> None:
    assert template_from(tmp_path, MINIMAL).condition("HasLimit") is True
    assert template_from(tmp_path, MINIMAL, Limit="0").condition("HasLimit") is False
    assert template_from(tmp_path, MINIMAL, Limit="0").condition("Both") is False


def test_sub_in_both_forms_join_and_pseudo_parameters(tmp_path: Path) -> None:
    env = template_from(tmp_path, MINIMAL).functions()["Fn"].environment
    assert env["REGION_URL"] == "https://us-east-1.example.com/drm"
    assert env["LIST_FORM"] == "drm-up"
    assert env["TABLE"] == "drm-records"
    assert "SECRET" not in env  # a physical id only AWS mints: the local run supplies its own


def test_tables_keep_their_indexes_and_time_to_live(tmp_path: Path) -> None:
    (table,) = template_from(tmp_path, MINIMAL).tables().values()
    assert table["GlobalSecondaryIndexes"][0]["IndexName"] == "byCookie"
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}


@pytest.mark.parametrize(
    ("planted", "words"),
    [
        ('  Planted: !Not [!Equals [!GetAtt Table.Arn, ""]]\n', "Fn::GetAtt cannot be resolved outside AWS"),
        ('  Planted: !Not [!Equals [!ImportValue other-stack, ""]]\n', "Fn::ImportValue cannot be resolved"),
        ('  Planted: !Not [!Equals [!Ref Nowhere, ""]]\n', "neither a parameter nor a resource"),
        ("  Planted: !Not [!Ref Prefix]\n", "expected a condition"),
    ],
)
def test_a_condition_it_cannot_resolve_fails_loudly(tmp_path: Path, planted: str, words: str) -> None:
    text = MINIMAL.replace("Resources:\n", "Resources:\n", 1).replace("Conditions:\n", "Conditions:\n" + planted, 1)
    with pytest.raises(TemplateError, match=words) as failure:
        template_from(tmp_path, text).condition("Planted")
    assert "Conditions.Planted" in str(failure.value)


def test_an_attribute_in_sub_fails_loudly(tmp_path: Path) -> None:
    text = MINIMAL.replace('"https://${AWS::Region}.example.com/${Prefix}"', '"${Table.Arn}"')
    with pytest.raises(TemplateError, match=r"Table\.Arn"):
        template_from(tmp_path, text).functions()


def test_unknown_parameters_and_broken_yaml_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="no such parameters"):
        template_from(tmp_path, MINIMAL, Nope="1")
    with pytest.raises(TemplateError):
        template_from(tmp_path, "Resources: [unclosed\n")


def test_every_condition_of_the_real_template_resolves() -> None:
    template = Template(ROOT / "template.yaml")
    assert all(isinstance(template.condition(name), bool) for name in template.document["Conditions"])
