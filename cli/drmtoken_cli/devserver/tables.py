"""Create the tables of template.yaml in a DynamoDB engine (local engines and tests), TTL included."""

from __future__ import annotations

from typing import Any

from drmtoken.core.errors import DependencyError

from .template import Template


def create_tables(client: Any, template: Template, names: dict[str, str] | None = None) -> dict[str, bool]:
    """Create every table the template defines that is missing; name -> whether it was created.

    ``names`` overrides table names by logical id (``CustomersTable`` -> ``my-customers``).
    """
    from botocore.exceptions import BotoCoreError, ClientError

    results: dict[str, bool] = {}
    for logical_id, arguments in template.tables().items():
        arguments = {**arguments, "TableName": (names or {}).get(logical_id) or arguments["TableName"]}
        time_to_live = arguments.pop("TimeToLiveSpecification", None)
        try:
            client.create_table(**arguments)
            client.get_waiter("table_exists").wait(
                TableName=arguments["TableName"], WaiterConfig={"Delay": 1, "MaxAttempts": 30}
            )
            if time_to_live and time_to_live.get("Enabled"):
                client.update_time_to_live(TableName=arguments["TableName"], TimeToLiveSpecification=time_to_live)
            results[arguments["TableName"]] = True
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ResourceInUseException":
                raise DependencyError(f"cannot create {arguments['TableName']}: {error}") from error
            results[arguments["TableName"]] = False
        except BotoCoreError as error:
            raise DependencyError(f"cannot create {arguments['TableName']}: {error}") from error
    return results
