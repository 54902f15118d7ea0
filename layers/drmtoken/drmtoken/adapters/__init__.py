"""The outside world behind the ports: DynamoDB, Secrets Manager. Every failure becomes DependencyError here."""
