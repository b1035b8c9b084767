"""Comptoir's web storefront: the visitors' pages over the services' public APIs."""
