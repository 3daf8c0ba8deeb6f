import alerts


def test_every_exported_name_exists_once() -> None:
    for name in alerts.__all__:
        assert hasattr(alerts, name), name
    assert len(set(alerts.__all__)) == len(alerts.__all__)
