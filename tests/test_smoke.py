async def test_me(api):
    token = await api.admin_token()
    data = await api.data("{ me { email role { name } } }", token=token)
    assert data == {"me": {"email": "admin@example.com", "role": {"name": "admin"}}}
