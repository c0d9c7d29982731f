pytest_plugins = ["tests.conftest_service", "tests.servers", "tests.figures", "tests.timing",
                  "tests.browser"]
