import record


def test_every_exported_name_exists_once() -> None:
    for name in record.__all__:
        assert hasattr(record, name), name
    assert len(set(record.__all__)) == len(record.__all__)
