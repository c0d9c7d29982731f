pytest_plugins = ["tests.conftest_service"]
