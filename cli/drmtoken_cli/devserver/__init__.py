"""The service on one machine: template.yaml read strictly, the functions hosted in-process as Lambda
would host them, and a local gateway answering as API Gateway would. For `drmtoken serve`,
`drmtoken invoke`, the tests and the bench; never part of a deployment."""
