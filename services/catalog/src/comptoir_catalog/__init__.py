"""Catalog: territories, providers, activities and their time slots."""
