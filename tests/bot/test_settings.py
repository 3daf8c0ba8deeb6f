from bot.settings import Settings


def test_defaults_are_the_embedded_ones() -> None:
    settings = Settings.from_env({})
    assert settings.effective_database_url == "sqlite:///var/frontdoor.db"
    assert settings.redis_url == ""
    assert settings.effective_public_url == "http://127.0.0.1:8080"


def test_environment_overrides_defaults() -> None:
    settings = Settings.from_env(
        {"FD_PORT": "9000", "FD_DATABASE_URL": "postgresql://db/fd", "FD_REDIS_URL": "redis://r:6379/0"}
    )
    assert (settings.port, settings.effective_database_url, settings.redis_url) == (
        9000,
        "postgresql://db/fd",
        "redis://r:6379/0",
    )


def test_platform_style_database_and_redis_urls_are_honoured() -> None:
    settings = Settings.from_env({"DATABASE_URL": "postgresql://db/x", "REDIS_URL": "redis://r/1"})
    assert (settings.effective_database_url, settings.redis_url) == ("postgresql://db/x", "redis://r/1")
    assert Settings.from_env({"DATABASE_URL": "postgresql://a", "FD_DATABASE_URL": "sqlite:///b"}).database_url == (
        "sqlite:///b"
    )
