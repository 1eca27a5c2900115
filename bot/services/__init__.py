"""Domain services: decisions and rules. They never import `telegram`."""
