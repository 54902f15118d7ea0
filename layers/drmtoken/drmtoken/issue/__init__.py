"""The token side: the token routes' parameters, issuing a token, and its HTTP face."""
