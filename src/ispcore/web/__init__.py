"""HTTP edge: the ASGI app, its middleware and the GraphQL view."""
